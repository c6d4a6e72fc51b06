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

It also writes the run's request log: one line per request (time, method, path, status,
milliseconds, and the function that answered: the one `cargo lambda watch` routes the request
to, by the same router in Cargo.toml), appended to --log and, once the --ready file exists
(run-local creates it after printing where the API is), shown on stderr. The query string is
left out: it can hold an invitation token.

Usage: local_gateway.py --port PORT --upstream-port PORT [--log FILE] [--ready FILE] [--verbose]
(both ports on 127.0.0.1; --verbose shows every line at once, without waiting for --ready).
"""

import argparse
import http.client
import http.server
import os
import sys
import threading
import time
import tomllib
from pathlib import Path

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


class RequestLog:
    """Appends lines to the run's log file, and shows them on stderr once the run is ready."""

    def __init__(self, path: str | None, ready: str | None, verbose: bool):
        self.file = open(path, "a", encoding="utf-8", buffering=1) if path else None
        self.ready = ready
        self.verbose = verbose
        self.lock = threading.Lock()

    def write(self, line: str) -> None:
        with self.lock:
            if self.file:
                self.file.write(f"[gateway] {line}\n")
            if self.verbose or not self.ready or os.path.exists(self.ready):
                # One write, line and newline together: print() writes them apart, and the
                # functions' warnings share this terminal.
                sys.stderr.write(line + "\n")
                sys.stderr.flush()


class Router:
    """The function `cargo lambda watch` sends a request to: its router in Cargo.toml, where a
    literal segment wins over a `{parameter}`, as in shared/src/routes.rs. A path given a
    function's name alone takes every method (`*` here), and a last segment `{*name}` takes
    the rest of any path that no other route matches."""

    def __init__(self, manifest: Path):
        router = tomllib.loads(manifest.read_text())["workspace"]["metadata"]["lambda"]["watch"]["router"]
        self.routes = []
        for path, targets in router.items():
            pattern = path.strip("/").split("/")
            if isinstance(targets, str):
                self.routes.append(("*", pattern, targets))
            else:
                self.routes.extend((target["method"], pattern, target["function"]) for target in targets)

    def function(self, method: str, path: str) -> str:
        segments = path.split("?", 1)[0].strip("/").split("/")
        # Lambda's Invoke API (`cargo lambda invoke --invoke-port PORT`) names the function.
        if method == "POST" and len(segments) == 4 and segments[1] == "functions" and segments[3] == "invocations":
            return segments[2]
        best, best_literals = "-", -1
        catch_all = "-"
        for route_method, pattern, function in self.routes:
            if route_method not in (method, "*"):
                continue
            if pattern[-1].startswith("{*"):
                if len(segments) >= len(pattern) and pattern[:-1] == segments[: len(pattern) - 1]:
                    catch_all = function
                continue
            if len(pattern) != len(segments):
                continue
            literals = 0
            for expected, actual in zip(pattern, segments):
                if expected.startswith("{") and expected.endswith("}"):
                    if not actual:
                        break
                elif expected == actual:
                    literals += 1
                else:
                    break
            else:
                if literals > best_literals:
                    best, best_literals = function, literals
        return best if best != "-" else catch_all


class Gateway(http.server.BaseHTTPRequestHandler):
    upstream_port = 0
    protocol_version = "HTTP/1.1"
    requests: RequestLog
    router: Router

    def log_message(self, format, *args):  # one line per request, written by forward()
        pass

    def log_request_line(self, status: int, started: float) -> None:
        path = self.path.split("?", 1)[0]
        milliseconds = (time.monotonic() - started) * 1000
        function = self.router.function(self.command, path)
        stamp = time.strftime("%H:%M:%S")
        self.requests.write(f"{stamp}  {self.command:<6} {path:<40} {status}  {milliseconds:6.0f} ms  {function}")

    def forward(self):
        started = time.monotonic()
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
            self.log_request_line(502, started)
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
        self.log_request_line(response.status, started)

    def __getattr__(self, name):
        # Every method goes on to watch (TRACE included), as API Gateway takes them all.
        if name.startswith("do_"):
            return self.forward
        raise AttributeError(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--log", help="append every request line to this file")
    parser.add_argument("--ready", help="show request lines on stderr only once this file exists")
    parser.add_argument("--verbose", action="store_true", help="show every line at once")
    args = parser.parse_args()
    Gateway.upstream_port = args.upstream_port
    Gateway.requests = RequestLog(args.log, args.ready, args.verbose)
    Gateway.router = Router(Path(__file__).resolve().parent.parent / "Cargo.toml")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Gateway)
    server.daemon_threads = True
    Gateway.requests.write(f"local gateway on 127.0.0.1:{args.port} -> {args.upstream_port}")
    server.serve_forever()


if __name__ == "__main__":
    main()
