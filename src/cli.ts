#!/usr/bin/env node
// `npx redis-session-store`: see admin-cli.ts.

import {main} from "./admin-cli.js"

main(process.argv.slice(2), process).then((code) => {
  process.exitCode = code
})
