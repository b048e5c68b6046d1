#!/usr/bin/env bash
# fwinfer-server tested with the official OpenAI JavaScript SDK (npm package
# "openai", version pinned in js/package.json), on stories260K.
#
#   tests/server/run_js_tests.sh [BUILD_DIR] [DATA_DIR]
#
# BUILD_DIR (default: build) holds examples/fwinfer-server; DATA_DIR (default:
# $FWINFER_TEST_DATA, else ../shared/data next to the source tree) holds
# models/stories260K.gguf.  The SDK is installed with npm into a scratch
# folder (nothing is written into the source tree); then two servers are
# started on free ports: the main one (--parallel 4) and one whose model has
# a generation_config.json (its defaults in the fireworks-sampling-options
# header).  Each test file runs with `node --test`; afterwards both servers
# get SIGTERM and must exit with status 0.  Needs node >= 18 and npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
data=${2:-${FWINFER_TEST_DATA:-$root/../shared/data}}
server="$build/examples/fwinfer-server"
model="$data/models/stories260K.gguf"
config="$data/generation_configs/Qwen-1_8B-Chat.json"

if [ ! -f "$model" ]; then
    echo "SKIPPED: $model not found"
    exit 0
fi
[ -x "$server" ] || { echo "run_js_tests: $server not built" >&2; exit 1; }
command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "run_js_tests: node and npm are needed" >&2; exit 1; }

scratch=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$scratch"
}
trap cleanup EXIT

cp "$here"/js/package.json "$here"/js/package-lock.json "$here"/js/*.mjs "$scratch"/
(cd "$scratch" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
echo "openai SDK $(node -p 'require(process.argv[1]).version' "$scratch/node_modules/openai/package.json"), node $(node --version)"

# start SERVER_ARGS...: sets $url and $pid
start() {
    local log="$scratch/server$((${#pids[@]})).log"
    "$server" -m "$model" --port 0 -t 1 "$@" 2>"$log" &
    pid=$!
    pids+=("$pid")
    url=
    for _ in $(seq 1 300); do
        url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$log")
        [ -n "$url" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$url" ] || { echo "run_js_tests: the server did not start:" >&2; cat "$log" >&2; exit 1; }
}

start --parallel 4 --max-queue 64
main_url=$url main_pid=$pid
start --generation-config "$config" --alias with-defaults
defaults_url=$url

status=0
for t in sampling streaming errors load; do
    (cd "$scratch" && FWINFER_BASE_URL="$main_url/v1" FWINFER_SERVER_PID="$main_pid" \
        FWINFER_DEFAULTS_URL="$defaults_url/v1" FWINFER_DEFAULTS_MODEL=with-defaults \
        node --test "$t.test.mjs") || status=1
done

for p in "${pids[@]}"; do
    kill -TERM "$p"
    if ! wait "$p"; then
        echo "run_js_tests: server $p did not exit with status 0 on SIGTERM" >&2
        status=1
    fi
done
pids=()
for log in "$scratch"/server*.log; do grep -q 'stopped' "$log" || { cat "$log" >&2; status=1; }; done
[ "$status" = 0 ] && echo "run_js_tests: all passed"
exit "$status"
