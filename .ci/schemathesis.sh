#!/usr/bin/env bash
# Fuzz the whole API against its own OpenAPI document: a live gunicorn on a free loopback port,
# a fresh SQLite database and API key, built-in models only. Fails on any 5xx and on any response
# whose status, content type or body the document does not describe.
#   usage: .ci/schemathesis.sh   (from any directory; uses the python on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="sqlite:///$work/db.sqlite3"
export MEDIA_ROOT="$work/media"
export Q_STATS_CACHE_URL="filecache://$work/q-stats"
export ALLOW_SCRIPTED_MODEL=0 DEBUG=0 DEFAULT_MODEL="" ANTHROPIC_API_KEY="" OPENAI_API_KEY=""
export LLM_GATEWAY_URL="" COURTLISTENER_API_TOKEN="" CORS_ALLOWED_ORIGINS=""
export SSE_MAX_STREAM_S=2 RUN_TIMEOUT_S=30 LOG_LEVEL=ERROR
# The fuzzer tests the endpoints, not the rate limiter (tests/test_rate_limits.py does): with the
# limits on, most of its requests would only see 429s.
export API_RATE_LIMIT=0 AUTH_FAILURE_RATE_LIMIT=0

# A free port that is not 2024 (reserved on the machines this runs on).
port=$(python - <<'PY'
import socket
while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    if port != 2024:
        print(port)
        break
PY
)

python manage.py migrate -v 0
key=$(python manage.py createapikey --org "Schemathesis" --name ci 2>/dev/null)

gunicorn agentexec.wsgi:application --bind "127.0.0.1:$port" --workers 2 --threads 4 \
  --timeout 120 --access-logfile "$work/access.log" \
  --access-logformat '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s' \
  2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

started=$(date +%s)
status=0
# From the scratch directory: schemathesis keeps its own state in ./.schemathesis. One worker:
# with two, hypothesis's lambda-source parsing (ast, not thread-safe on Python 3.11) can crash.
(cd "$work" && schemathesis run "http://127.0.0.1:$port/openapi.json" \
  --header "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples 10 --request-timeout 60 --workers 1 --seed 2026 \
  --generation-database none --warnings off --no-color) || status=$?
echo "schemathesis: $(( $(date +%s) - started )) s, $(wc -l <"$work/access.log") requests, exit $status"
if [ "$status" -ne 0 ]; then
  echo "--- last requests"; tail -n 20 "$work/access.log"
  echo "--- server errors"; grep -v -E 'WARNING django.request|^\[' "$work/server.log" | tail -n 60 || true
fi
exit "$status"
