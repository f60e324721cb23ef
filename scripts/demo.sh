#!/usr/bin/env bash
# `make demo`: start the sandbox, then for examples/quickstart (Intouch), examples/intime and
# examples/smsconnector: validate, plan, apply, and plan again (no changes); stop the sandbox.
# Runs in a scratch copy of the examples so the checkout stays clean.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
for example in quickstart intime smsconnector; do cp -r "$here/examples/$example" "$work/$example"; done
port_base="$(python3 - <<'PY'
import socket
for base in range(18600, 30000, 10):
    socks = []
    try:
        for offset in (1, 2, 3):
            s = socket.socket(); s.bind(("127.0.0.1", base + offset)); socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks: s.close()
    print(base); break
PY
)"
reconciler sandbox --data "$work/sandbox.db" --port-base "$port_base" >"$work/sandbox.log" 2>&1 &
sandbox_pid=$!
cleanup() { kill "$sandbox_pid" 2>/dev/null || true; wait "$sandbox_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  grep -q "Sandbox running" "$work/sandbox.log" 2>/dev/null && break
  kill -0 "$sandbox_pid" 2>/dev/null || { cat "$work/sandbox.log"; exit 1; }
  sleep 0.1
done

export INTOUCH_URL="http://127.0.0.1:$((port_base + 1))/2" INTOUCH_USER=demo INTOUCH_DOMAIN=example.com \
       INTOUCH_PASSWORD=sandbox-intouch-password
export INTIME_URL="http://127.0.0.1:$((port_base + 2))/api/1.0" INTIME_USER=demo \
       INTIME_HASH=0123456789abcdef0123456789abcdef01234567
export SMSC_URL="http://127.0.0.1:$((port_base + 3))" SMSC_USER=demo SMSC_PASSWORD=sandbox-smsconnector-password

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
for example in quickstart intime smsconnector; do
  cd "$work/$example"
  printf '\n\033[1;34m== examples/%s ==\033[0m\n' "$example"
  step reconciler validate
  reconciler validate
  step reconciler plan
  set +e; reconciler plan; code=$?; set -e
  [ "$code" -eq 2 ] || { echo "expected changes (exit 2), got exit $code"; exit 1; }
  step reconciler apply --auto-approve
  reconciler apply --auto-approve
  step reconciler plan
  reconciler plan
done
