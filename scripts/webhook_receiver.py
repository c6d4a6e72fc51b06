#!/usr/bin/env python3
"""A webhook receiver for the local run: listens on 127.0.0.1, answers every POST 200, and
prints one line per delivery, with whether its Raptor-Signature verifies (docs/webhooks.md).

    scripts/run-local                      # in one terminal
    scripts/webhook_receiver.py --port 8765 --secret whsec_...   # in another
    curl -X POST -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
      -d '{"url": "http://127.0.0.1:8765/hooks", "eventTypes": ["user.created"]}' \
      http://127.0.0.1:9000/webhook-endpoints

The secret is the `secret` of the endpoint's creation answer; without --secret the signature
is shown, not checked. Standard library only: it is also the smoke test's receiver.
"""

import argparse
import hashlib
import hmac
import http.server
import json
import sys
import time

TOLERANCE_SECONDS = 300


def verify(header, body, secret, now=None):
    """The receiver's check from docs/webhooks.md: `t=<unix seconds>,v1=<hex>[,v1=<hex>]`,
    each v1 the HMAC-SHA256 of `<t>.<body>`; any v1 matching the secret, and t recent."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for name, value in parts if name == "t"]
    signatures = [value for name, value in parts if name == "v1"]
    if len(timestamps) != 1 or not signatures:
        return "malformed signature header"
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        return "signature does not match"
    if abs((now or time.time()) - int(timestamps[0])) > TOLERANCE_SECONDS:
        return "signature ok, but its timestamp is more than 5 minutes away (a replay?)"
    return "signature ok"


def handler_for(secret):
    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            header = self.headers.get("Raptor-Signature", "")
            verdict = verify(header, body, secret) if secret else f"Raptor-Signature: {header}"
            try:
                event = json.loads(body)
                what = f"{event.get('action')} {event.get('id')} on {event.get('targetId')}"
            except ValueError:
                what = f"{len(body)} bytes that are not JSON"
            attempt = self.headers.get("Raptor-Delivery-Attempt", "?")
            print(f"delivery {what} (attempt {attempt}): {verdict}", flush=True)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass

    return Receiver


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--secret", help="the endpoint's whsec_… secret, to check signatures")
    arguments = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", arguments.port), handler_for(arguments.secret))
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
