// The admin command line's words: its usage text, exit codes, and what a command line asks
// for, checked before anything connects (a wrong flag is exit 2 and the usage on stderr).

import {parseArgs} from "node:util"
import {UsageError} from "../errors.js"
import {CLIENT_PACKAGES, type ClientPackage} from "../redis/cli-connection.js"
import {isRedisUrl, safeUrl} from "./helpers.js"

export const HELP = `Usage: redis-session-store <command> [options]

Commands:
  count                  How many sessions there are.
  list                   The id of every readable session, one per line.
  show <sid>             One session, as JSON.
  revoke <sid>           End one session (final: a tombstone keeps it dead).
  sessions <owner>       One owner's live sessions, each with when it was created and last
                         seen (needs --owner-field, as revoke-owner).
  revoke-owner <owner>   End every session of one owner, but those named with --except
                         (needs --owner-field, and the app's store built with the option
                         owner, which keeps the index).
  clear                  End every session under the prefix (asks first, unless --yes).

Options:
  --url <url>            Redis URL. Default: $REDIS_URL, else redis://localhost:6379
  --cluster              The URL is one node of a Redis Cluster.
  --client <package>     The client package to connect with: redis, ioredis or iovalkey.
                         Default: the first of these the app has installed.
  --prefix <prefix>      Key prefix of the sessions. Default: sess:
  --owner-field <path>   Where a session names its owner, as the app's owner option reads it
                         (for example user.id).
  --except <sid>         revoke-owner leaves this session alive (repeat for more). Each must
                         be a live session of that owner, or nothing is revoked.
  --secret-env <name>    For an app that uses encryptedSerializer: the environment variable
                         holding a secret (repeat for old secrets, newest first). Secrets
                         are read from the environment only, never from the command line.
  --scan-count <n>       Keys per batch. Default: 100
  --json                 Output for scripts: one JSON value (list: one JSON object a line).
  --yes                  Do not ask before clear.
  --quiet                No progress on stderr.
  -h, --help             This text.

Exit codes: 0 done; 1 not done (no such session, an unreadable session, sessions of the owner
that could not be confirmed, clear not confirmed); 2 bad usage; 3 Redis failed (unreachable,
refused, no answer within 5 s).`

export const EXIT = {done: 0, notDone: 1, usage: 2, redisFailed: 3} as const

export interface Parsed {
  command: string
  operand: string | undefined
  url: string
  cluster: boolean
  client: ClientPackage | undefined
  prefix: string
  ownerField: string | undefined
  except: string[]
  secretEnv: string[]
  scanCount: number | undefined
  json: boolean
  yes: boolean
  quiet: boolean
}

const COMMANDS: Record<string, "none" | "one"> = {
  count: "none",
  list: "none",
  show: "one",
  revoke: "one",
  sessions: "one",
  "revoke-owner": "one",
  clear: "none",
}

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): Parsed | "help" {
  let parsed: ReturnType<typeof parseOptions>
  try {
    parsed = parseOptions(argv)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
  const {values, positionals} = parsed
  if (values.help) return "help"
  if (positionals.length === 0) throw new UsageError("a command is needed")
  const [command, operand, ...extra] = positionals as [string, ...string[]]
  const arity = COMMANDS[command]
  if (arity === undefined) throw new UsageError(`Unknown command "${command}"`)
  if (arity === "one" && (operand === undefined || operand === "")) {
    throw new UsageError(`${command} needs one argument`)
  }
  if ((arity === "none" && operand !== undefined) || extra.length > 0) {
    throw new UsageError(`Too many arguments for ${command}`)
  }
  if ((command === "revoke-owner" || command === "sessions") && !values["owner-field"]) {
    throw new UsageError(`${command} needs --owner-field (where a session names its owner)`)
  }
  const except = values.except ?? []
  if (except.length > 0 && command !== "revoke-owner") {
    throw new UsageError("--except goes with revoke-owner only")
  }
  if (except.some((sid) => sid === "")) throw new UsageError("--except needs a session id")
  const client = values.client
  if (client !== undefined && !(CLIENT_PACKAGES as readonly string[]).includes(client)) {
    throw new UsageError(`--client must be one of ${CLIENT_PACKAGES.join(", ")}, not "${client}"`)
  }
  const url = values.url || env.REDIS_URL || "redis://localhost:6379"
  if (!isRedisUrl(url)) {
    throw new UsageError(
      `--url must be a redis:// or rediss:// URL, not ${JSON.stringify(safeUrl(url))}`,
    )
  }
  return {
    command,
    operand,
    url,
    cluster: values.cluster === true,
    client: client as ClientPackage | undefined,
    prefix: values.prefix ?? "sess:",
    ownerField: values["owner-field"],
    except,
    secretEnv: values["secret-env"] ?? [],
    scanCount: scanCountOf(values["scan-count"]),
    json: values.json === true,
    yes: values.yes === true,
    quiet: values.quiet === true,
  }
}

/** --scan-count, checked here so that the message names the flag. */
function scanCountOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const count = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(count) || count < 1) {
    throw new UsageError(`--scan-count must be a positive integer, not ${JSON.stringify(text)}`)
  }
  return count
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: {type: "string"},
      cluster: {type: "boolean"},
      client: {type: "string"},
      prefix: {type: "string"},
      "owner-field": {type: "string"},
      except: {type: "string", multiple: true},
      "secret-env": {type: "string", multiple: true},
      "scan-count": {type: "string"},
      json: {type: "boolean"},
      yes: {type: "boolean"},
      quiet: {type: "boolean"},
      help: {type: "boolean", short: "h"},
    },
  })
}
