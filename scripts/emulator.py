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
    """moto keeps every model instance it ever creates, for its dashboard and data.json,
    and DynamoDB deep-copies a whole table on every TransactWriteItems (its rollback
    copy): tracking those copies grows memory without bound (gigabytes over one test run).
    Every other service's models, SES messages included, are still tracked."""
    from moto.core.common_models import BaseModel

    def new(cls, *_args, **_kwargs):
        instance = object.__new__(cls)
        if cls.__module__.split(".")[1] != "dynamodb":
            cls.instances_tracked.append(instance)
        return instance

    BaseModel.__new__ = staticmethod(new)


def cheap_stream_copies():
    """The table's stream (it feeds the webhook dispatcher) is part of the table that every
    TransactWriteItems deep-copies for its rollback, and it grows with every write. A
    stream record never changes once written, so the rollback copy shares the records and
    copies only their list: a rolled-back transaction still leaves no record behind."""
    import copy

    from moto.dynamodb.models.table import StreamShard

    def deepcopy(self, memo):
        clone = copy.copy(self)
        memo[id(self)] = clone
        clone.table = copy.deepcopy(self.table, memo)  # the table's copy being made
        clone.items = list(self.items)
        return clone

    StreamShard.__deepcopy__ = deepcopy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args()

    track_no_dynamodb_items()
    cheap_stream_copies()
    app = Serialized(OneServiceState(DomainDispatcherApplication(create_backend_app)))
    server = make_server(
        args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler
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
