#!/usr/bin/env bash
# The README's pictures of a pipeline run in the Prefect UI: a tiny checkout (the tests' own,
# tests/conftest.py), a Prefect server on loopback, `ocrpipe pipeline`, then headless Chromium
# (Debian's `chromium`) on the run's page (its logs) and on each of its artifacts.
#   usage: docs/prefect_screenshots.sh   (from the repository root, after `make test` made .venv)
set -euo pipefail
root=$(pwd)
bin=$root/.venv/bin
scratch=$(mktemp -d)
port=4299
export PATH=$bin:$PATH PREFECT_HOME=$scratch/prefect PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_API_URL=http://127.0.0.1:$port/api

prefect server start --host 127.0.0.1 --port $port >"$scratch/server.log" 2>&1 &
server=$!
trap 'kill $server; rm -rf "$scratch"' EXIT
until curl -sf "$PREFECT_API_URL/health" >/dev/null; do sleep 1; done

python -c "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from conftest import make_project; \
make_project(Path('$scratch/project'))"
(cd "$scratch/project" && ocrpipe pipeline)

api() { curl -sf -X POST "$PREFECT_API_URL/$1" -H 'Content-Type: application/json' -d "$2"; }
run_id=$(api flow_runs/filter '{"flow_runs": {"name": {"like_": "pipeline-"}}, "sort": "START_TIME_DESC", "limit": 1}' |
  python -c 'import json, sys; print(json.load(sys.stdin)[0]["id"])')
shot() {  # shot PNG HEIGHT URL
  chromium --headless --no-sandbox --hide-scrollbars --window-size=1400,$2 --virtual-time-budget=20000 \
    --screenshot="$root/docs/$1" "http://127.0.0.1:$port$3" 2>/dev/null
}
shot prefect-logs.png 2000 "/runs/flow-run/$run_id"
api artifacts/filter "{\"artifacts\": {\"flow_run_id\": {\"any_\": [\"$run_id\"]}}}" |
  python -c 'import json, sys; [print(a["key"], a["id"]) for a in json.load(sys.stdin)]' |
  while read -r key id; do shot "prefect-$key.png" "$([ "$key" = crnn-metrics ] && echo 700 || echo 1600)" "/artifacts/artifact/$id"; done
