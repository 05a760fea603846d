#!/usr/bin/env bash
# Load benchmark of `glrl serve` on loopback with wrk (Debian package):
# cached POST /v1/query and uncached POST /v1/sql/validate.
#   scripts/bench-serve.sh [DURATION_S] [CONNECTIONS]
# Rate limiting is off for the run; the audit log (fsync'd) and the
# answer cache are on, as in production. Results: stdout and
# target/bench-serve/*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR="${1:-15}"
CONN="${2:-32}"
OUT=target/bench-serve
mkdir -p "$OUT"

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        echo "wrk is not installed (Debian: apt-get install wrk)" >&2; exit 1
    fi
fi
cargo build --release -q -p glrl
RUN=$(mktemp -d)
export GLRL_API_KEYS="bench:bench-key-0123456789abcdef"
export GLRL_SERVER__RATE_LIMIT_RPS=0
export GLRL_SERVER__AUDIT_LOG="$RUN/audit.jsonl"
export GLRL_SERVER__FEEDBACK_LOG="$RUN/feedback.jsonl"
export GLRL_ORCHESTRATOR__SESSIONS_DB="-"
export GLRL_LOG__LEVEL=warn
target/release/glrl serve --bind 127.0.0.1:0 > "$RUN/addr" 2> "$RUN/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$RUN"' EXIT
for _ in $(seq 1 600); do
    [ -s "$RUN/addr" ] && break
    sleep 0.2
done
URL=$(sed -n 's/^listening on //p' "$RUN/addr")
echo "server: $URL"
until curl -sf "$URL/readyz" >/dev/null; do sleep 0.5; done

# Warm-up: the first answer runs the model and fills the cache.
curl -sf -X POST "$URL/v1/query" -H 'Content-Type: application/json' \
    -H 'X-API-Key: bench-key-0123456789abcdef' \
    -d '{"question": "How many projects are there?"}' -o "$OUT/answer.json"
echo "warm-up answer: $(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(a["cache"], a["answer"]["status"], round(a["answer"]["total_ms"]), "ms")' "$OUT/answer.json")"

for what in query validate; do
    path=/v1/query
    [ "$what" = validate ] && path=/v1/sql/validate
    wrk -t2 -c"$CONN" -d"${DUR}s" --latency -s "scripts/bench/$what.lua" "$URL$path" | tee "$OUT/$what.txt"
done
echo "audit entries written: $(wc -l < "$RUN/audit.jsonl")"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
