#!/usr/bin/env python3
"""The local stand-in for Lambda's event sources of the webhook functions and the training
requirements' engine (scripts/run-local).

On AWS (infra/template.yaml) the table's stream invokes webhook-dispatcher with inserted audit
events, EventBridge Scheduler invokes it every minute to queue what is due, and the delivery
queue invokes webhook-sender with batches of up to 10 messages. Here, against the emulator:

- the table's stream (DynamoDB Streams API, read from where the last read stopped) is polled
  every second; its records, kept to the template's filter (INSERT, with `payloadVersion`),
  invoke webhook-dispatcher as one DynamoDB event, in Lambda's record shape;
- every --sweep-seconds (10 by default, so a resend is seen at once) webhook-dispatcher is
  invoked with `{}`, as the schedule invokes it;
- the same stream records, kept to training-rules' filter (the audit events about people and
  requirements), invoke training-rules, and every --sweep-seconds it is invoked with `{}` to go
  on with running backfills, as its schedule does (docs/training-requirements.md);
- the delivery queue is received from (10 at a time) and each batch invokes webhook-sender
  as an SQS event; the messages it does not report failed are deleted, as Lambda does.

Functions are invoked through `cargo lambda watch`'s Lambda Invoke API, so they are the very
processes that serve the API. Each invocation's outcome goes to --log.

Usage: local_event_sources.py --table NAME --queue-url URL --invoke-port PORT [--log FILE]
       [--sweep-seconds N]
"""

import argparse
import json
import sys
import time
import urllib.request

import boto3


class Log:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8", buffering=1) if path else sys.stderr

    def write(self, line):
        self.file.write(f"[event-sources] {line}\n")


def invoke(port, function, event):
    """Lambda's Invoke API on `cargo lambda watch`: the function's answer, as JSON."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/2015-03-31/functions/{function}/invocations",
        data=json.dumps(event).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=120) as answer:
        body = answer.read()
    return json.loads(body) if body else None


def is_audit_insert(record):
    """The template's FilterCriteria: inserted items that carry payloadVersion."""
    return record.get("eventName") == "INSERT" and "payloadVersion" in record.get("dynamodb", {}).get("NewImage", {})


# training-rules' FilterCriteria in infra/template.yaml.
TRAINING_RULES_ACTIONS = {
    "user.created",
    "user.updated",
    "user.facilities_changed",
    "user.groups_changed",
    "invitation.accepted",
    "group.updated",
    "training_requirement.created",
    "training_requirement.updated",
}


def is_training_rules_event(record):
    action = record["dynamodb"]["NewImage"].get("action", {}).get("S")
    return action in TRAINING_RULES_ACTIONS


def lambda_record(record, stream_arn):
    """A GetRecords record as Lambda hands it to the function (JSON, the image's typed values)."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        change["ApproximateCreationDateTime"] = created.timestamp()
    return {
        "eventID": record.get("eventID"),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "eventSourceARN": stream_arn,
        "dynamodb": change,
    }


class Stream:
    """The table's stream, read from where the last poll stopped (from the start at first)."""

    def __init__(self, table):
        dynamodb = boto3.client("dynamodb")
        description = dynamodb.describe_table(TableName=table)["Table"]
        if "LatestStreamArn" not in description:
            # A table created before webhooks existed: give it the stream the template has.
            dynamodb.update_table(
                TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
            )
            description = dynamodb.describe_table(TableName=table)["Table"]
        self.arn = description["LatestStreamArn"]
        self.streams = boto3.client("dynamodbstreams")
        self.after = {}

    def new_records(self):
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        records = []
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self.after:
                position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self.after[shard_id]}
            else:
                position = {"ShardIteratorType": "TRIM_HORIZON"}
            iterator = self.streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id, **position)[
                "ShardIterator"
            ]
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                if not page["Records"]:
                    break
                for record in page["Records"]:
                    self.after[shard_id] = record["dynamodb"]["SequenceNumber"]
                    records.append(record)
                iterator = page.get("NextShardIterator")
        return records


def sqs_record(message, queue_arn):
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", required=True)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--invoke-port", required=True, type=int)
    parser.add_argument("--log")
    parser.add_argument("--sweep-seconds", type=float, default=10)
    arguments = parser.parse_args()
    log = Log(arguments.log)
    stream = Stream(arguments.table)
    sqs = boto3.client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=arguments.queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    next_sweep = time.monotonic()
    log.write(f"polling {stream.arn} and {arguments.queue_url}")
    while True:
        try:
            records = [r for r in stream.new_records() if is_audit_insert(r)]
            if records:
                event = {"Records": [lambda_record(r, stream.arn) for r in records]}
                log.write(f"webhook-dispatcher, {len(records)} audit events: {invoke(arguments.invoke_port, 'webhook-dispatcher', event)}")
            rules = [r for r in records if is_training_rules_event(r)]
            if rules:
                event = {"Records": [lambda_record(r, stream.arn) for r in rules]}
                log.write(f"training-rules, {len(rules)} audit events: {invoke(arguments.invoke_port, 'training-rules', event)}")
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + arguments.sweep_seconds
                report = invoke(arguments.invoke_port, "webhook-dispatcher", {})
                if report and report.get("deliveriesQueued"):
                    log.write(f"webhook-dispatcher, sweep: {report}")
                report = invoke(arguments.invoke_port, "training-rules", {})
                if report and report.get("backfillBatches"):
                    log.write(f"training-rules, sweep: {report}")
            while True:
                messages = sqs.receive_message(
                    QueueUrl=arguments.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not messages:
                    break
                answer = invoke(
                    arguments.invoke_port,
                    "webhook-sender",
                    {"Records": [sqs_record(m, queue_arn) for m in messages]},
                )
                failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
                log.write(f"webhook-sender, {len(messages)} deliveries, {len(failed)} to receive again")
                for message in messages:
                    if message["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=arguments.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as error:  # noqa: BLE001 - one failed poll must not end the local run
            log.write(f"poll failed, trying again: {error!r}")
        time.sleep(1)


if __name__ == "__main__":
    main()
