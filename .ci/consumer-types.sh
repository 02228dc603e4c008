#!/usr/bin/env bash
# The published types, as a TypeScript app sees them: the packed package installed into a
# new folder with the packages an app has, and the apps in .ci/consumer/ (ESM and CommonJS,
# node-redis with skipLibCheck off, an ioredis cluster, strict) compiled by TypeScript 7 (the native
# compiler) and by TypeScript 5.9. Usage: .ci/consumer-types.sh <packed .tgz>
set -euo pipefail
tarball="$(realpath "$1")"
here="$(cd "$(dirname "$0")" && pwd)"
app="$(mktemp -d)"
trap 'rm -rf "$app"' EXIT
cp "$here"/consumer/* "$app"/
cd "$app"
npm init -y >/dev/null
# Both compilers install a `tsc`: each is run by its own path below.
npm install --silent --no-audit --no-fund "$tarball" express-session redis ioredis express \
  @types/express @types/express-session @types/node typescript@7 typescript59@npm:typescript@~5.9.3 \
  >/dev/null
for compiler in typescript typescript59; do
  version="$(node "node_modules/$compiler/bin/tsc" --version)"
  node "node_modules/$compiler/bin/tsc" -p tsconfig.json
  # ioredis's own declarations fail with skipLibCheck off (they import the untyped
  # redis-errors); ours are checked by the project above, this one checks their use.
  node "node_modules/$compiler/bin/tsc" -p tsconfig.ioredis.json
  echo "types compile for a consumer on TypeScript ${version#Version }: ok (ESM and CommonJS)"
done
