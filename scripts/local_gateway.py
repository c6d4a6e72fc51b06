#!/usr/bin/env python3
"""The local stand-in for API Gateway in front of `cargo lambda watch` (scripts/run-local).

It forwards every request unchanged, with two exceptions that make the local run behave as
the deployed API, where `cargo lambda watch` would fail with its own 500 before any function
runs:
- a body that is not UTF-8: API Gateway hands it to the function base64-encoded, and the
  function answers 400 validation_error. Sent on as `application/octet-stream`, watch
  base64-encodes it as API Gateway would.
- a header value that is not UTF-8: API Gateway's event is JSON, so the function sees text;
  sent on with the undecodable bytes replaced (U+FFFD), the function refuses it with 400.

Usage: local_gateway.py --port PORT --upstream-port PORT (both on 127.0.0.1).
"""

import argparse
import http.client
import http.server
import sys

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class Gateway(http.server.BaseHTTPRequestHandler):
    upstream_port = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # watch logs every request already
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # http.server decodes header bytes as Latin-1; take the bytes back and read them as UTF-8.
        headers = {
            name: value.encode("latin-1").decode("utf-8", errors="replace").encode("utf-8")
            for name, value in self.headers.items()
            if name.lower() not in HOP_BY_HOP
        }
        if body and not is_utf8(body):
            headers = {name: value for name, value in headers.items() if name.lower() != "content-type"}
            headers["Content-Type"] = b"application/octet-stream"
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=600)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
        except OSError as error:
            self.send_error(502, f"cargo lambda watch did not answer: {error}")
            return
        finally:
            upstream.close()
        self.send_response_only(response.status, response.reason)
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def __getattr__(self, name):
        # Every method goes on to watch (TRACE included), as API Gateway takes them all.
        if name.startswith("do_"):
            return self.forward
        raise AttributeError(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    args = parser.parse_args()
    Gateway.upstream_port = args.upstream_port
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Gateway)
    server.daemon_threads = True
    print(f"local gateway on 127.0.0.1:{args.port} -> {args.upstream_port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
