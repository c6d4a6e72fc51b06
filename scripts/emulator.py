#!/usr/bin/env python3
"""Local AWS emulator (moto) for DynamoDB and SES, used by scripts/lib.sh.

Why not plain `moto_server`: moto's backends have no locking, so concurrent
TransactWriteItems can interleave (HTTP 500s, or two conflicting transactions
both committing). The API relies on transactions for its invariants, so every
request is served under one lock, including reading the response body (Flask
may produce it lazily).

Prints `EMULATOR_PORT=<port>` once the socket is listening, so callers can
bind port 0 and learn the real port without racing for a free one.
"""

import argparse
import json
import os
import signal
import sys
import threading
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import MotoRequestHandler
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class Serialized:
    """WSGI middleware that runs one whole request/response at a time."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        return [body]


class OneServiceState:
    """`/moto-api/data.json?service=ses`: moto's state dump, of one service only.

    moto's own data.json walks every model instance ever created, DynamoDB items
    included, which grows with every test; tests that read sent emails need SES only.
    Same shape as moto's answer: {"ses": {"Message": [{...}, ...]}}.
    """

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if environ.get("PATH_INFO") != "/moto-api/data.json" or "service" not in query:
            return self.app(environ, start_response)
        from moto.core.model_instances import model_data

        service = query["service"][0]
        models = model_data.get(service, {})
        state = {service: {name: [public_fields(i) for i in models[name].instances_tracked] for name in sorted(models)}}
        body = json.dumps(state).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def public_fields(instance):
    """The JSON-serialisable public attributes of a model, as moto's data.json lists them."""
    fields = {}
    for attr in dir(instance):
        if attr.startswith("_"):
            continue
        try:
            value = getattr(instance, attr)
            json.dumps(value)
        except (TypeError, AttributeError, ValueError):
            continue
        fields[attr] = value
    return fields


def track_no_dynamodb_items():
    """moto keeps every model instance it ever creates, for its dashboard and data.json:
    DynamoDB's items (and any copy of a table) tracked that way grow memory without bound
    (gigabytes over one test run). Every other service's models, SES messages included,
    are still tracked."""
    from moto.core.common_models import BaseModel

    def new(cls, *_args, **_kwargs):
        instance = object.__new__(cls)
        if cls.__module__.split(".")[1] != "dynamodb":
            cls.instances_tracked.append(instance)
        return instance

    BaseModel.__new__ = staticmethod(new)


def two_phase_transactions():
    """moto's TransactWriteItems deep-copies every table it writes to, to roll a failed
    transaction back: each transaction costs as much as the whole table, and a suite or a
    benchmark that makes thousands of assignments spends its time copying. DynamoDB checks
    every condition against the state before the transaction, and a transaction touches an
    item once (moto refuses a second operation on it), so checking every condition first
    and writing only when all hold gives the same answers and the same cancellation
    reasons. A write that still fails (a validation error) puts back the items it touched
    and drops the stream records it added."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    def transact_write_items(self, transact_items):
        if len(transact_items) > 100:
            raise TooManyTransactionsException()
        touched = set()
        checked = []  # (op_type, op, table_name, key, current item)
        errors = []
        for item in transact_items:
            if len(list(item.keys())) > 1:
                raise TransactWriteSingleOpException
            original_item = None
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                table_name = op["TableName"]
                if op_type == "Put":
                    table = self.get_table(table_name)
                    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                    if table.range_key_attr is not None:
                        key[table.range_key_attr] = op["Item"][table.range_key_attr]
                else:
                    key = op["Key"]
                unique = (str(table_name), str(dict(sorted(key.items()))))
                if unique in touched:
                    raise MultipleTransactionsException()
                touched.add(unique)
                current = self.get_item(table_name, key)
                condition = op.get("ConditionExpression")
                if condition is not None:
                    holds = get_filter_expression(
                        condition,
                        op.get("ExpressionAttributeNames"),
                        op.get("ExpressionAttributeValues"),
                    ).expr(current)
                    if not holds:
                        if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                            original_item = current.to_json()["Attributes"]
                        raise ConditionalCheckFailed(item=original_item)
                checked.append((op_type, op, table_name, key, current))
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                raise
            except ConditionalCheckFailed as e:
                errors.append(("ConditionalCheckFailed", str(e.message), original_item))
            except Exception as e:  # noqa: E722, as moto's own
                errors.append((type(e).__name__, str(e), original_item))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)

        tables = {name: self.get_table(name) for _, _, name, _, _ in checked}
        stream_lengths = {
            name: len(table.stream_shard.items) for name, table in tables.items() if table.stream_shard is not None
        }
        written = []
        try:
            for op_type, op, table_name, key, current in checked:
                names = op.get("ExpressionAttributeNames")
                values = op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    written.append((table_name, key, current))
                    self.put_item(table_name, op["Item"], expression_attribute_names=names,
                                  expression_attribute_values=values)
                elif op_type == "Delete":
                    written.append((table_name, key, current))
                    self.delete_item(table_name, key, expression_attribute_names=names,
                                     expression_attribute_values=values)
                elif op_type == "Update":
                    written.append((table_name, key, current))
                    self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                     expression_attribute_names=names, expression_attribute_values=values)
        except Exception:
            for table_name, key, before in reversed(written):
                table = tables[table_name]
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                holder = table.items[hash_value] if range_value is not None else table.items
                slot = range_value if range_value is not None else hash_value
                if before is None:
                    holder.pop(slot, None)
                else:
                    holder[slot] = before
            for name, length in stream_lengths.items():
                del tables[name].stream_shard.items[length:]
            raise

    DynamoDBBackend.transact_write_items = transact_write_items


def cheap_queries():
    """moto answers every Query from the whole table, sorted by primary key (the Python
    comparisons of every item), then keeps the items of the query's partition and sorts
    them again by the query's own keys. A Query of the table reads its partition only; one
    of an index reads the items whose index partition attributes equal the query's (a
    plain comparison of each item's type and value), unsorted: the second sort gives the
    same order, at a cost that no longer grows with the table's size times its sort."""
    import threading

    from moto.dynamodb.models.table import Table

    scope = threading.local()
    sorted_items = Table.all_items
    query = Table.query

    def all_items(self):
        if getattr(scope, "querying", None) is not self:
            return sorted_items(self)
        partition = getattr(scope, "partition", None)
        if partition is not None:
            found = self.items.get(partition)
            if found is None:
                return []
            return list(found.values()) if self.range_key_attr else [found]
        if self.range_key_attr:
            items = [item for hash_set in self.items.values() for item in hash_set.values()]
        else:
            items = list(self.items.values())
        wanted = [(name, value.type, value.value) for name, value in getattr(scope, "index_partition", [])]

        def in_partition(item):
            for name, kind, value in wanted:
                found = item.attrs.get(name)
                if found is None or found.type != kind or found.value != value:
                    return False
            return True

        return [item for item in items if in_partition(item)] if wanted else items

    def cheap_query(self, hash_key, *args, **kwargs):
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        scope.querying = self
        scope.partition = None if index_name else hash_key
        scope.index_partition = (kwargs.get("hash_key_conditions") or []) if index_name else []
        try:
            return query(self, hash_key, *args, **kwargs)
        finally:
            scope.querying = None
            scope.partition = None
            scope.index_partition = []

    Table.all_items = all_items
    Table.query = cheap_query


class QuietRequestHandler(MotoRequestHandler):
    """No access log line per request: the suite sends hundreds of thousands, and writing
    them took a tenth of the emulator's time. Errors are still logged."""

    def log_request(self, *_args, **_kwargs):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()

    track_no_dynamodb_items()
    two_phase_transactions()
    cheap_queries()
    app = Serialized(OneServiceState(DomainDispatcherApplication(create_backend_app)))
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=QuietRequestHandler
    )
    port = server.server_address[1]
    # moto builds some self-referencing URLs from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)

    def stop(signum, _frame):
        raise SystemExit(0)

    # Explicit handlers: a background job of a non-interactive shell starts
    # with SIGINT ignored, and SIGTERM would otherwise skip server_close().
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print(f"EMULATOR_PORT={port}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
        print("emulator stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
