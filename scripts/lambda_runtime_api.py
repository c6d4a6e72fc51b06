#!/usr/bin/env python3
"""A minimal local Lambda Runtime API, for scripts/bench (standard library only).

It serves the four endpoints a custom runtime (lambda_runtime) calls:

  GET  /2018-06-01/runtime/invocation/next             the next event, with the
                                                        Lambda-Runtime-* headers
  POST /2018-06-01/runtime/invocation/{id}/response     the function's answer
  POST /2018-06-01/runtime/invocation/{id}/error        a failed invocation
  POST /2018-06-01/runtime/init/error                   a failed init

and records when each happens (time.perf_counter_ns, the same clock as the
caller's), so a benchmark can time a cold start: spawn -> first /next (init),
/next answered -> response posted (first invocation).

Each spawned function gets a server of its own (ThreadingHTTPServer on
127.0.0.1, port 0), as each Lambda sandbox has its own Runtime API: with one
shared server, a request a killed function had already queued in the listen
backlog would be accepted during the next function's run and taken for its
/next. The armed `Invocation` hands out exactly one event: a second /next
(the runtime asking for more work after answering) is held open until
`disarm()` or shutdown, just as Lambda freezes an idle function, so the
process stays put for its memory to be read before it is killed.

Run standalone to serve one event from a file for manual poking:
  python3 scripts/lambda_runtime_api.py event.json
"""

import http.server
import json
import re
import sys
import threading
import time
import uuid

PREFIX = "/2018-06-01/runtime"
RESPONSE_PATH = re.compile(rf"^{PREFIX}/invocation/([^/]+)/(response|error)$")

# How long a function may take to answer one invocation, as the deadline tells it.
DEADLINE_MS = 30_000


class Invocation:
    """One cold start: the event to hand out and what the function did with it."""

    def __init__(self, event, function_name, deadline_ms=DEADLINE_MS):
        self.event = event
        self.function_name = function_name
        self.deadline_ms = deadline_ms  # the function's timeout, as the deadline header tells it
        self.request_id = str(uuid.uuid4())
        self.next_at = None  # first /next received (init done)
        self.next_answered_at = None  # its event being sent
        self.response_at = None  # /response or /error received
        self.outcome = None  # "response" | "error" | "init_error"
        self.body = b""
        self.done = threading.Event()  # an outcome was recorded
        self.released = threading.Event()  # a held second /next may give up

    def record(self, outcome, body, at):
        if self.outcome is None:
            self.outcome, self.body, self.response_at = outcome, body, at
        self.done.set()


class RuntimeApi(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host="127.0.0.1", port=0):
        super().__init__((host, port), Handler)
        self.current = None
        self.lock = threading.Lock()
        self.stray = []  # requests that matched no armed invocation, for diagnostics

    @property
    def address(self):
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def arm(self, event, function_name, deadline_ms=DEADLINE_MS):
        """Makes `event` the one the next /next returns; returns its Invocation."""
        invocation = Invocation(event, function_name, deadline_ms)
        with self.lock:
            if self.current is not None:
                self.current.released.set()
            self.current = invocation
        return invocation

    def handle_error(self, request, client_address):
        # A benchmarked function is killed mid-connection (its second /next is held
        # open): a reset connection is the normal end of every run, not an error.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def disarm(self):
        with self.lock:
            if self.current is not None:
                self.current.released.set()
            self.current = None

    def start(self, poll_interval=0.01):
        """Serves in a thread; `poll_interval` bounds how long `stop()` waits for it."""
        thread = threading.Thread(
            target=self.serve_forever, args=(poll_interval,), name="runtime-api", daemon=True
        )
        thread.start()
        return thread

    def stop(self):
        self.disarm()
        self.shutdown()
        self.server_close()


class Handler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as the real Runtime API: lambda_runtime reuses its connection.
    protocol_version = "HTTP/1.1"
    server: RuntimeApi

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def do_GET(self):
        at = time.perf_counter_ns()
        if self.path != f"{PREFIX}/invocation/next":
            return self.reply(404, {"errorType": "NotFound", "errorMessage": self.path})
        with self.server.lock:
            invocation = self.server.current
            first = invocation is not None and invocation.next_at is None
            if first:
                invocation.next_at = at
        if invocation is None:
            self.server.stray.append(("GET", self.path))
            return self.reply(503, {"errorType": "NoInvocation", "errorMessage": "nothing armed"})
        if not first:
            # The function answered and asks for more: hold it, like a frozen sandbox.
            invocation.released.wait(timeout=120)
            self.close_connection = True
            return None
        body = json.dumps(invocation.event).encode()
        deadline = int(time.time() * 1000) + invocation.deadline_ms
        trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
        self.send_header(
            "Lambda-Runtime-Invoked-Function-Arn",
            f"arn:aws:lambda:us-east-1:123456789012:function:{invocation.function_name}",
        )
        self.send_header("Lambda-Runtime-Trace-Id", trace)
        self.end_headers()
        # Stamped before the body goes out (one small send), so a quick function's
        # response can never be timed as arriving before its event left.
        invocation.next_answered_at = time.perf_counter_ns()
        self.wfile.write(body)
        self.wfile.flush()
        return None

    def do_POST(self):
        at = time.perf_counter_ns()
        body = self.read_body()
        invocation = self.server.current
        if self.path == f"{PREFIX}/init/error":
            if invocation is not None:
                invocation.record("init_error", body, at)
            else:
                self.server.stray.append(("POST", self.path))
            return self.reply(202, {"status": "OK"})
        matched = RESPONSE_PATH.match(self.path)
        if matched is None:
            return self.reply(404, {"errorType": "NotFound", "errorMessage": self.path})
        request_id, kind = matched.groups()
        if invocation is None or request_id != invocation.request_id:
            self.server.stray.append(("POST", self.path))
            return self.reply(400, {"errorType": "InvalidRequestID", "errorMessage": request_id})
        invocation.record(kind, body, at)
        return self.reply(202, {"status": "OK"})

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers, up to the blank line.
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


def main():
    event = json.load(open(sys.argv[1])) if len(sys.argv) > 1 else {}
    api = RuntimeApi()
    invocation = api.arm(event, "manual")
    print(f"AWS_LAMBDA_RUNTIME_API={api.address}", flush=True)
    api.start()
    try:
        invocation.done.wait()
        print(invocation.outcome, invocation.body.decode(errors="replace"), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()


if __name__ == "__main__":
    main()
