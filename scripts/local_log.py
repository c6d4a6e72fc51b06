#!/usr/bin/env python3
"""Reads the output of `cargo lambda watch` (scripts/run-local) on stdin: every line goes to
--log, and only what a developer must see reaches the terminal (stdout):

- a warning or an error our functions log (their JSON lines at WARN or ERROR), in one short
  line: time, level, message, then the event's fields;
- a function's panic, and a build error of a function watch rebuilt after a change.

Everything else stays in the log: watch's INFO lines (each function's start prints its whole
environment), the functions' other JSON lines, cargo's progress. Nothing is shown until the
--ready file exists (run-local creates it after printing where the API is), so the start-up,
which calls every function without a key to start it, leaves nothing on the screen.
--verbose shows every line as it comes, as run-local did before.

Usage: cargo lambda watch ... 2>&1 | local_log.py --log FILE [--ready FILE] [--verbose]
"""

import argparse
import json
import os
import signal
import sys
import time

# lambda_runtime warns at every function start that watch's AWS_LAMBDA_MAX_CONCURRENCY=1 asks
# for a feature we do not build: the local runner's setting, not something our code did.
KNOWN_NOISE = ("AWS_LAMBDA_MAX_CONCURRENCY is set",)


def short(event: dict) -> str | None:
    """A WARN or ERROR event of ours in one line, or None for any other line."""
    level = event.get("level")
    if level not in {"WARN", "ERROR"}:
        return None
    fields = dict(event.get("fields") or {})
    message = str(fields.pop("message", ""))
    if message.startswith(KNOWN_NOISE):
        return None
    details = " ".join(f"{name}={json.dumps(value) if isinstance(value, str) and ' ' in value else value}"
                       for name, value in fields.items())
    return f"{time.strftime('%H:%M:%S')}  {level:<5}  {message}  {details}".rstrip()


def for_terminal(line: str) -> str | None:
    if line.startswith("{"):
        try:
            event = json.loads(line)
        except ValueError:
            return None
        return short(event) if isinstance(event, dict) else None
    # A panic of a function, and a function that no longer builds after an edit: watch's
    # request then fails, and the reason would otherwise be only in the log.
    if "panicked at" in line or line.startswith("error"):
        return f"{time.strftime('%H:%M:%S')}  ERROR  {line}"
    return None


def show(line: str) -> None:
    """One write, line and newline together: print() writes them apart, and the gateway's
    request lines share this terminal, so a line could end up inside another."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log", required=True)
    parser.add_argument("--ready", help="show nothing until this file exists")
    parser.add_argument("--verbose", action="store_true", help="show every line")
    args = parser.parse_args()
    # Ctrl-C is for run-local, which stops watch; this ends when watch's output does, so
    # that watch's last lines still reach the log.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(args.log, "a", encoding="utf-8", buffering=1) as log:
        for raw in sys.stdin.buffer:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            log.write(line + "\n")
            if args.verbose:
                show(line)
            elif (shown := for_terminal(line)) and (not args.ready or os.path.exists(args.ready)):
                show(shown)


if __name__ == "__main__":
    main()
