#!/usr/bin/env bash
# Property-based API testing of `glrl serve` with schemathesis (PyPI),
# driven by the server's own /openapi.json: every operation is called with
# generated inputs (valid and invalid), and the run fails on any 5xx.
#   scripts/schemathesis.sh [MAX_EXAMPLES]
# /v1/query and /v1/query/stream run the model for every example, so they
# get fewer examples (a tenth) than the other operations.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-50}"
VENV=target/peer/st
[ -x "$VENV/bin/schemathesis" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q schemathesis==4.32.5; }
cargo build --release -q -p glrl
RUN=$(mktemp -d)
KEY=st-key-0123456789abcdef
export GLRL_API_KEYS="st:$KEY"
export GLRL_SERVER__RATE_LIMIT_RPS=0
export GLRL_SERVER__AUDIT_LOG="$RUN/audit.jsonl"
export GLRL_SERVER__FEEDBACK_LOG="$RUN/feedback.jsonl"
export GLRL_ORCHESTRATOR__SESSIONS_DB="-"
export GLRL_GENERATOR__CANDIDATES=1
export GLRL_GENERATOR__MAX_NEW_TOKENS=96
export GLRL_LOG__LEVEL=warn
target/release/glrl serve --bind 127.0.0.1:0 > "$RUN/addr" 2> "$RUN/serve.log" &
PID=$!
trap 'kill $PID 2>/dev/null || true; rm -rf "$RUN"' EXIT
for _ in $(seq 1 600); do [ -s "$RUN/addr" ] && break; sleep 0.2; done
URL=$(sed -n 's/^listening on //p' "$RUN/addr")
until curl -sf "$URL/readyz" >/dev/null; do sleep 0.5; done
echo "server: $URL"
status=0
"$VENV/bin/schemathesis" run "$URL/openapi.json" -H "X-API-Key: $KEY" \
    --checks not_a_server_error --max-examples "$N" --exclude-path-regex '^/v1/query' \
    --no-color || status=$?
"$VENV/bin/schemathesis" run "$URL/openapi.json" -H "X-API-Key: $KEY" \
    --checks not_a_server_error --max-examples "$(( N / 10 > 1 ? N / 10 : 2 ))" \
    --include-path-regex '^/v1/query' --no-color || status=$?
grep -c . "$RUN/audit.jsonl" | sed 's/^/audit entries: /'
exit $status
