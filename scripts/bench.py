#!/usr/bin/env python3
"""The measuring half of scripts/bench (standard library only).

  bench.py cold-start --baseline NAME=BINARY --function NAME=BINARY ... [--runs N]
      Spawns each binary under a local Lambda Runtime API (lambda_runtime_api.py),
      round-robin so every binary sees the same machine, and prints median init,
      first-invocation time and peak RSS. Each function also runs with
      RAPTOR_INIT_WARM_UP=off, to compare init with and without the warm-up, and
      the emulator's own answer to the warm-up's GetItem is timed alongside, to
      tell the function's init from the time it waits for the emulator.
      A function the local router serves gets an HTTP API GET; one it does not
      (the daily job) gets what its schedule sends, `{}`.

  bench.py size --arch ARCH (--zip NAME=ZIP | --binary NAME=BINARY) ...
      Prints each function's zipped size (zipping a bare binary as `bootstrap`,
      deflate, as cargo-lambda does) and whether it is under the budget.

The environment of each spawned function is a Lambda's (see lambda_env): the
AWS_* variables, TABLE_NAME and AWS_ENDPOINT_URL come from this process's own
environment (scripts/bench sets them after starting the emulator).
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse
import zipfile
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in scripts/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from lambda_runtime_api import DEADLINE_MS, RuntimeApi  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Per child: time to reach /next, then time to answer the one event. Generous: a
# cold start here is tens of milliseconds; these only stop a hung binary.
INIT_TIMEOUT_S = 20
INVOKE_TIMEOUT_S = 20

# A well-formed API key (`rck_<ulid>_<secret>`) that names no key: the function
# parses it, looks it up in DynamoDB (one GetItem) and answers 401, so the first
# invocation includes the first SDK call, as a real first request does.
GARBAGE_API_KEY = "rck_01jbench000000000000000000_bench-garbage-secret"

MB = 1_000_000
SIZE_BUDGET_MB = 6


def parse_pairs(values):
    pairs = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"expected NAME=PATH, got {value!r}")
        pairs.append((name, Path(path).resolve()))
    return pairs


# --- events -------------------------------------------------------------------


def get_routes():
    """function -> the first parameterless GET path the local router sends it."""
    with open(ROOT / "Cargo.toml", "rb") as file:
        router = tomllib.load(file)["workspace"]["metadata"]["lambda"]["watch"]["router"]
    routes = {}
    for path, targets in router.items():
        # A function's name alone: every method of the path goes to it.
        if isinstance(targets, str):
            targets = [{"method": "GET", "function": targets}]
        for target in targets:
            if target["method"] == "GET" and "{" not in path:
                routes.setdefault(target["function"], path)
    return routes


# What EventBridge Scheduler sends the daily job (the template gives it no Input), and
# its timeout in the template: the job keeps 30 s of it back, so a shorter deadline would
# leave it no time to run.
SCHEDULED_EVENT = {}
SCHEDULED_DEADLINE_MS = 900_000


def event_for(path, request_id):
    """The first event a function gets: a GET of its route, or the schedule's payload."""
    return SCHEDULED_EVENT if path is None else http_api_event(path, request_id)


def http_api_event(path, request_id):
    """An API Gateway HTTP API (payload 2.0) GET of `path` with a bad API key."""
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "host": "bench.execute-api.us-east-1.amazonaws.com",
            "user-agent": "raptor-bench",
            "x-api-key": GARBAGE_API_KEY,
            "x-forwarded-for": "127.0.0.1",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "bench",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "raptor-bench",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }


# --- one cold start -------------------------------------------------------------


def lambda_env(name, runtime_api, home, extra):
    """What the Lambda service gives a provided.al2023 function, pointed at 127.0.0.1."""
    passed = {
        key: os.environ[key]
        for key in (
            "AWS_ENDPOINT_URL",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "TABLE_NAME",
            "INVITATION_SENDER",
            "INVITATION_ACCEPT_URL",
            "AUDIT_SIGNING_KEY_ID",
            "EXPORT_BUCKET",
            "WEBHOOK_QUEUE_URL",
        )
        if key in os.environ
    }
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        # An empty home: no ~/.aws profile files, as in Lambda.
        "HOME": home,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
        "_HANDLER": "bootstrap",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        # Never look for instance metadata: nothing may leave 127.0.0.1.
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH": "true",
        "RUST_LOG": "info",
        "TABLE_NAME": "raptor-comply-bench",
        "INVITATION_SENDER": "invitations@bench.test",
        "INVITATION_ACCEPT_URL": "http://127.0.0.1/invitations/validate",
    }
    env.update(passed)
    env.update(extra)
    return env


def exited(pid):
    """True once `pid` has exited, without reaping it (its rusage stays readable)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def peak_rss_kb(pid):
    """VmHWM: the process's own peak RSS so far.

    Not ru_maxrss: Linux folds the RSS of the mm an exec replaces into it, so a
    child forked (or vforked) from this Python reports at least Python's own RSS.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cold_start(name, binary, path, extra_env, home, log):
    """Spawns `binary` under a Runtime API of its own, serves it one GET of `path`, kills it."""
    api = RuntimeApi()
    api.start()
    try:
        return run_child(api, name, binary, path, lambda_env(name, api.address, home, extra_env), log)
    finally:
        api.stop()


def run_child(api, name, binary, path, env, log):
    invocation = api.arm(None, name, SCHEDULED_DEADLINE_MS if path is None else DEADLINE_MS)
    invocation.event = event_for(path, invocation.request_id)
    log.write(f"--- {name} {invocation.request_id}\n".encode())
    log.flush()
    started = time.perf_counter_ns()
    child = subprocess.Popen([str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=env["HOME"])
    result = {"name": name, "error": None}
    try:
        init_deadline = time.monotonic() + INIT_TIMEOUT_S
        invoke_deadline = None
        # `done` wakes this at once; the timeout only paces the exit and deadline checks.
        while not invocation.done.wait(0.05):
            now = time.monotonic()
            if invocation.next_at is not None and invoke_deadline is None:
                invoke_deadline = now + INVOKE_TIMEOUT_S
            if exited(child.pid):
                result["error"] = "exited before answering"
                break
            if now > (invoke_deadline or init_deadline):
                result["error"] = "timed out " + ("answering" if invoke_deadline else "in init")
                break
        result["rss_kb"] = peak_rss_kb(child.pid)
    finally:
        try:
            child.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            _, status, _ = os.wait4(child.pid, 0)
            child.returncode = status
        except ChildProcessError:
            pass  # already reaped by Popen (send_signal polls first when it has exited)
        api.disarm()
    if invocation.outcome in ("error", "init_error"):
        result["error"] = f"{invocation.outcome}: {invocation.body[:200].decode(errors='replace')}"
    if result["error"] is None:
        result["init_ms"] = (invocation.next_at - started) / 1e6
        result["first_ms"] = (invocation.response_at - invocation.next_answered_at) / 1e6
        result["status"] = response_status(invocation.body)
    return result


ROUND_TRIP_SAMPLES = 5


def emulator_round_trips(samples):
    """Times the warm-up's own request against the emulator, as a plain client.

    The same GetItem of a key no item has, on a fresh connection each time (the
    emulator closes every connection after one answer, so the function's warm-up
    opens one too). Signed with a dummy signature: the emulator does not check it.
    """
    endpoint = urllib.parse.urlsplit(os.environ["AWS_ENDPOINT_URL"])
    body = json.dumps({"TableName": os.environ["TABLE_NAME"], "Key": {"PK": {"S": "WARM_UP"}, "SK": {"S": "WARM_UP"}}})
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.GetItem",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    times = []
    for _ in range(samples):
        started = time.perf_counter_ns()
        connection = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=5)
        try:
            connection.request("POST", "/", body, headers)
            answer = connection.getresponse()
            answer.read()
        finally:
            connection.close()
        if answer.status != 200:
            raise SystemExit(f"the emulator answered the warm-up GetItem with {answer.status}")
        times.append((time.perf_counter_ns() - started) / 1e6)
    return times


def response_status(body):
    try:
        payload = json.loads(body)
    except ValueError:
        return "?"
    if isinstance(payload, dict) and "statusCode" in payload:
        return str(payload["statusCode"])
    # The daily job's report: whether it went through every shard.
    if isinstance(payload, dict) and "finished" in payload:
        return "done" if payload["finished"] is True else "partial"
    return "ok"


# --- cold-start command -----------------------------------------------------------


def median(values):
    return statistics.median(values) if values else float("nan")


def command_cold_start(args):
    baseline_name, baseline_binary = parse_pairs([args.baseline])[0]
    functions = parse_pairs(args.function)
    routes = get_routes()

    # Variants: (label, binary, extra env, function name, path). The baseline ignores
    # the event's content; it gets one all the same.
    variants = [(baseline_name, baseline_binary, {}, baseline_name, "/")]
    for name, binary in functions:
        # None: not behind the API (the daily job); it gets the schedule's event.
        path = routes.get(name)
        variants.append((name, binary, {}, name, path))
        variants.append((f"{name} (warm-up off)", binary, {"RAPTOR_INIT_WARM_UP": "off"}, name, path))

    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    results = {label: [] for label, *_ in variants}
    errors = {label: [] for label, *_ in variants}

    logs = {}
    emulator_ms = []
    try:
        with tempfile.TemporaryDirectory(prefix="raptor-bench-home-") as home:
            for label, *_ in variants:
                logs[label] = open(log_dir / (label.replace(" ", "_").replace("(", "").replace(")", "") + ".log"), "wb")
            total = args.runs * len(variants)
            print(
                f"Cold starts: {len(variants)} variants x {args.runs} runs = {total}, round-robin "
                f"(each under a Runtime API of its own on 127.0.0.1; logs in {log_dir})",
                file=sys.stderr,
                flush=True,
            )
            done = 0
            for run in range(args.runs):
                # Rotate the order each round, so no binary always runs first after a pause.
                shift = run % len(variants)
                for label, binary, extra, function_name, path in variants[shift:] + variants[:shift]:
                    result = cold_start(function_name, binary, path, extra, home, logs[label])
                    if result["error"]:
                        errors[label].append(result["error"])
                    else:
                        results[label].append(result)
                    done += 1
                emulator_ms.extend(emulator_round_trips(ROUND_TRIP_SAMPLES))
                print(f"  round {run + 1}/{args.runs} done ({done}/{total} cold starts)", file=sys.stderr, flush=True)
    finally:
        for log in logs.values():
            log.close()

    baseline_init = median([r["init_ms"] for r in results[baseline_name]])

    print()
    print(f"Cold start: x86_64 release builds on this host, medians of {args.runs} runs, round-robin")
    print("  init     = spawn -> first GET /runtime/invocation/next")
    print("  1st inv  = that event answered -> POST .../response (a GET with a well-formed unknown")
    print("             X-API-Key: one DynamoDB GetItem on the local emulator, then 401)")
    print("             the daily job (no route) gets `{}` and runs over the bench table instead:")
    print("             16 Queries, one per shard of its index, and nothing to change (answer: done)")
    print("  peak RSS = VmHWM of the process when it posted its response (MB = 10^6 bytes)")
    print()
    header = f"{'binary':<22} {'init ms':>8} {'(min)':>7} {'x base':>7} {'1st inv ms':>11} {'peak RSS MB':>12} {'answer':>7} {'ok':>6}"
    print(header)
    print("-" * len(header))
    for label, *_ in variants:
        if label.endswith("(warm-up off)"):
            continue
        print(row(label, results[label], errors[label], args.runs, baseline_init))

    emulator = median(emulator_ms)
    print()
    print("Init-time warm-up: the default vs RAPTOR_INIT_WARM_UP=off (medians, ms; total = init + 1st inv)")
    print("  emulator = the emulator's own answer to the warm-up's GetItem, timed from Python on a")
    print(f"             fresh connection as the function's is ({len(emulator_ms)} samples between rounds):"
          f" {emulator:.1f} ms")
    print("  own      = init on - emulator: the function's init without the time it waits for the emulator")
    if args.warm_up_note:
        print(f"  note: {args.warm_up_note}")
    print()
    header = (
        f"{'function':<22} {'init on':>8} {'init off':>9} {'delta':>7} {'own':>6} {'x base':>7}"
        f" {'1st inv on':>11} {'1st inv off':>12} {'total on':>9} {'total off':>10}"
    )
    print(header)
    print("-" * len(header))
    for name, _ in functions:
        on, off = results[name], results[f"{name} (warm-up off)"]
        init_on, init_off = median([r["init_ms"] for r in on]), median([r["init_ms"] for r in off])
        first_on, first_off = median([r["first_ms"] for r in on]), median([r["first_ms"] for r in off])
        total_on = median([r["init_ms"] + r["first_ms"] for r in on])
        total_off = median([r["init_ms"] + r["first_ms"] for r in off])
        own = init_on - emulator
        print(
            f"{name:<22} {init_on:>8.1f} {init_off:>9.1f} {init_on - init_off:>+7.1f}"
            f" {own:>6.1f} {own / baseline_init:>6.1f}x {first_on:>11.1f} {first_off:>12.1f} {total_on:>9.1f} {total_off:>10.1f}"
        )

    failed = {label: errs for label, errs in errors.items() if errs}
    if failed:
        print()
        print("Failed cold starts (excluded from the medians):")
        for label, errs in failed.items():
            print(f"  {label}: {len(errs)} x {errs[0]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": args.runs, "results": results, "errors": errors, "emulator_ms": emulator_ms}, indent=1))
    return 1 if failed else 0


def row(label, results, errors, runs, baseline_init):
    if not results:
        return f"{label:<22} {'all runs failed':>30}"
    inits = [r["init_ms"] for r in results]
    init = median(inits)
    first = median([r["first_ms"] for r in results])
    rss = [r["rss_kb"] for r in results if r.get("rss_kb")]
    rss_mb = median(rss) * 1024 / MB if rss else float("nan")
    answers = sorted({r["status"] for r in results})
    return (
        f"{label:<22} {init:>8.1f} {min(inits):>7.1f} {init / baseline_init:>6.1f}x {first:>11.1f}"
        f" {rss_mb:>12.1f} {'/'.join(answers):>7} {len(results):>3}/{runs:<2}"
    )


# --- size command ---------------------------------------------------------------------


def command_size(args):
    rows = []
    if args.zip:
        for name, path in parse_pairs(args.zip):
            with zipfile.ZipFile(path) as archive:
                unzipped = sum(info.file_size for info in archive.infolist())
            rows.append((name, path.stat().st_size, unzipped))
    with tempfile.TemporaryDirectory(prefix="raptor-bench-zip-") as scratch:
        for name, binary in parse_pairs(args.binary or []):
            target = Path(scratch) / f"{name}.zip"
            info = zipfile.ZipInfo("bootstrap", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100755 << 16
            with zipfile.ZipFile(target, "w") as archive:
                archive.writestr(info, binary.read_bytes())
            rows.append((name, target.stat().st_size, binary.stat().st_size))

    print()
    print(f"Deployment size: {args.arch} `bootstrap` per function, {args.how} (MB = 10^6 bytes)")
    print()
    header = f"{'function':<22} {'zip MB':>7} {'binary MB':>10}  under {SIZE_BUDGET_MB} MB?"
    print(header)
    print("-" * len(header))
    over = 0
    for name, zipped, unzipped in rows:
        under = zipped < SIZE_BUDGET_MB * MB
        over += not under
        print(f"{name:<22} {zipped / MB:>7.2f} {unzipped / MB:>10.2f}  {'yes' if under else 'NO'}")
    return 1 if over else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    cold = commands.add_parser("cold-start")
    cold.add_argument("--baseline", required=True, metavar="NAME=BINARY")
    cold.add_argument("--function", action="append", required=True, metavar="NAME=BINARY")
    cold.add_argument("--runs", type=int, default=15)
    cold.add_argument("--log-dir", default=str(ROOT / ".local" / "bench"))
    cold.add_argument("--warm-up-note", default="")
    cold.add_argument("--json", help="also write every measurement to this file")

    size = commands.add_parser("size")
    size.add_argument("--arch", required=True)
    size.add_argument("--how", required=True, help="how the zips were made, for the heading")
    size.add_argument("--zip", action="append", metavar="NAME=ZIP")
    size.add_argument("--binary", action="append", metavar="NAME=BINARY")

    args = parser.parse_args()
    if args.command == "cold-start":
        if args.runs < 1:
            parser.error("--runs must be at least 1")
        return command_cold_start(args)
    return command_size(args)


if __name__ == "__main__":
    sys.exit(main())
