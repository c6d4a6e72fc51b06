# shellcheck shell=bash
# Shared helpers, sourced by scripts/* and .ci/run (callers set -euo pipefail).

RAPTOR_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$RAPTOR_ROOT/.venv"
LOCAL_DIR="$RAPTOR_ROOT/.local"

# --- cleanup on exit ------------------------------------------------------
# One EXIT trap runs every registered command, newest first, so a script can
# start several background services and still leave nothing behind. INT/TERM
# are turned into an exit so the EXIT trap also runs on Ctrl-C or kill.
RAPTOR_CLEANUPS=()

on_exit() {
  RAPTOR_CLEANUPS+=("$1")
  trap _raptor_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

_raptor_cleanup() {
  local rc=$? i
  # A second Ctrl-C must not abort a half-done cleanup.
  trap '' INT TERM
  for ((i = ${#RAPTOR_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${RAPTOR_CLEANUPS[i]}" || true
  done
  exit "$rc"
}

# Background services are started with `setsid`, so each one and everything
# it spawns (cargo-lambda's functions run in process groups of their own)
# shares one session id that we can signal and check as a whole.
# (From a script, a background child is never a process-group leader, so
# setsid does not fork and $! is the session id.)
session_alive() {
  # shellcheck disable=SC2009 # pgrep cannot filter out zombies
  ps -o stat= -s "$1" 2>/dev/null | grep -qv '^Z'
}

# True while PID runs (kill -0 would also succeed for an unreaped zombie).
pid_alive() {
  # shellcheck disable=SC2009 # see session_alive
  ps -o stat= -p "$1" 2>/dev/null | grep -qv '^Z'
}

# stop_session SID [GRACE_SECONDS]: TERM the whole session, then KILL what
# is still there after the grace period, then reap the leader if it is ours.
stop_session() {
  local sid=$1 grace=${2:-5} i
  pkill -TERM -s "$sid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    session_alive "$sid" || break
    sleep 0.1
  done
  pkill -KILL -s "$sid" 2>/dev/null || true
  wait "$sid" 2>/dev/null || true
}

# --- tools ----------------------------------------------------------------
# ensure_venv DIR REQUIREMENTS: a venv at DIR with REQUIREMENTS installed. pip only
# runs when the requirements file changed, which keeps repeated runs fast.
ensure_venv() {
  local dir=$1 req=$2
  local stamp="$dir/.requirements.sha256" sum
  if [[ ! -x "$dir/bin/python" ]]; then
    python3 -m venv "$dir"
  fi
  sum="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$sum" ]]; then
    echo "Installing $(basename "$req") into ${dir#"$RAPTOR_ROOT"/} ..." >&2
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    echo "$sum" >"$stamp"
  fi
}

# The project-local venv holds moto, cargo-lambda, cfn-lint and schemathesis.
ensure_tools() {
  ensure_venv "$VENV" "$RAPTOR_ROOT/scripts/requirements.txt"
}

# The official AsyncAPI JSON schemas (npm's @asyncapi/specs, pinned), which
# scripts/check_asyncapi.py validates docs/asyncapi.json against; fetched once.
ASYNCAPI_SPECS_VERSION=6.11.1
ASYNCAPI_SPECS="$LOCAL_DIR/asyncapi-specs-$ASYNCAPI_SPECS_VERSION"
ensure_asyncapi_specs() {
  if [[ ! -f $ASYNCAPI_SPECS/package/schemas/3.0.0.json ]]; then
    mkdir -p "$ASYNCAPI_SPECS"
    (cd "$ASYNCAPI_SPECS" && npm pack --silent "@asyncapi/specs@$ASYNCAPI_SPECS_VERSION" >/dev/null &&
      tar -xzf asyncapi-specs-*.tgz)
  fi
}

# checkov in a venv of its own (scripts/requirements-checkov.txt says why).
CHECKOV_VENV="$VENV/checkov"
ensure_checkov() {
  ensure_venv "$CHECKOV_VENV" "$RAPTOR_ROOT/scripts/requirements-checkov.txt"
}

# Debian's Chromium, for the smoke test's look at the API reference page (the venv's
# Playwright drives it; Playwright's own browser downloads are never used), and a font
# for the page's text (Chromium only recommends one).
CHROMIUM=/usr/bin/chromium
ensure_chromium() {
  if ! dpkg -s chromium fonts-liberation >/dev/null 2>&1; then
    echo "Installing Debian's chromium ..." >&2
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
      chromium fonts-liberation >/dev/null
  fi
}

# scim2-tester in a venv of its own (scripts/requirements-scim.txt says why), for
# scripts/scim-check.
SCIM_VENV="$VENV/scim"
ensure_scim_tester() {
  ensure_venv "$SCIM_VENV" "$RAPTOR_ROOT/scripts/requirements-scim.txt"
}

# The SAM CLI in a venv of its own (scripts/requirements-sam.txt says why), for
# scripts/package.
SAM_VENV="$VENV/sam"
ensure_sam() {
  ensure_venv "$SAM_VENV" "$RAPTOR_ROOT/scripts/requirements-sam.txt"
}

# --- AWS emulator -----------------------------------------------------------
# start_emulator: run scripts/emulator.py (moto, DynamoDB + SES) on a free
# port and point every AWS SDK started from this shell at it. The emulator
# picks the port itself (port 0) so parallel runs never collide.
# EMULATOR_LOG overrides the log file, for nested runs (smoke inside test).
start_emulator() {
  local log="${EMULATOR_LOG:-$LOCAL_DIR/emulator.log}" port="" i
  mkdir -p "$LOCAL_DIR" "$(dirname "$log")"
  setsid "$VENV/bin/python" -u "$RAPTOR_ROOT/scripts/emulator.py" \
    --host 127.0.0.1 --port 0 >"$log" 2>&1 </dev/null &
  EMULATOR_PID=$!
  on_exit "stop_session $EMULATOR_PID"

  for ((i = 0; i < 300; i++)); do
    if ! pid_alive "$EMULATOR_PID"; then
      echo "emulator exited early; see $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    port="$(sed -n 's/^EMULATOR_PORT=\([0-9][0-9]*\)$/\1/p' "$log")"
    if [[ -n $port ]] && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/moto-api/data.json?service=ses"; then
      break
    fi
    port=""
    sleep 0.1
  done
  if [[ -z $port ]]; then
    echo "emulator did not answer within 30 s; see $log" >&2
    return 1
  fi

  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  # Never fall back to a developer's real profile/session or to IMDS lookups.
  unset AWS_SESSION_TOKEN AWS_PROFILE
  export AWS_EC2_METADATA_DISABLED=true
}
