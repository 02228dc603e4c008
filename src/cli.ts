#!/usr/bin/env node
// `npx redis-session-store`: see admin-cli.ts.

import {main} from "./cli/admin-cli.js"

main(process.argv.slice(2), process).then((code) => {
  // Exit once the output is written: a client may keep a timer (ioredis waits 2 s after
  // disconnect) that would hold the process for nothing.
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)))
})
