// The admin command line: `npx redis-session-store <command>`. A thin shell over the store's
// own methods, so it keeps every promise they make (batches of scanCount, tombstones, the
// time bound). The client comes from the app's own package (see cli-client.ts).

import {parseArgs} from "node:util"
import {type CorruptSessionError, UsageError} from "../errors.js"
import {
  CLIENT_PACKAGES,
  type CliConnection,
  type ClientPackage,
  connect,
} from "../redis/cli-connection.js"
import {encryptedSerializer} from "../store/encrypted-serializer.js"
import type {Serializer} from "../store/options.js"
import {RedisStore} from "../store/store.js"
import {confirmed, fieldReader, isRedisUrl, messageOf, ProgressLine, safeUrl} from "./helpers.js"

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

interface Io {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  stdin: NodeJS.ReadableStream
  env: NodeJS.ProcessEnv
}

interface Parsed {
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
  if (values.help || positionals.length === 0) return "help"
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
    throw new UsageError(`--url must be a redis:// or rediss:// URL, not "${safeUrl(url)}"`)
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
    scanCount: values["scan-count"] === undefined ? undefined : Number(values["scan-count"]),
    json: values.json === true,
    yes: values.yes === true,
    quiet: values.quiet === true,
  }
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

/** Runs one command line; resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let options: Parsed | "help"
  try {
    options = parseCommandLine(argv, io.env)
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\nSee redis-session-store --help\n`)
    return EXIT.usage
  }
  if (options === "help") {
    io.stdout.write(`${HELP}\n`)
    return EXIT.done
  }
  let connection: CliConnection
  try {
    connection = await connect(options)
  } catch (error) {
    io.stderr.write(`error: cannot reach ${safeUrl(options.url)}: ${messageOf(error)}\n`)
    return error instanceof UsageError ? EXIT.usage : EXIT.redisFailed
  }
  try {
    const store = new RedisStore({
      client: connection.client as never,
      prefix: options.prefix,
      ...(options.scanCount === undefined ? {} : {scanCount: options.scanCount}),
      ...(options.ownerField === undefined ? {} : {owner: fieldReader(options.ownerField)}),
      ...(options.secretEnv.length === 0 ? {} : {serializer: serializerFrom(options, io.env)}),
      connectionEvents: false,
    })
    return await run(store, options, io)
  } catch (error) {
    io.stderr.write(`error: ${messageOf(error)}\n`)
    return error instanceof TypeError || error instanceof UsageError ? EXIT.usage : EXIT.redisFailed
  } finally {
    await connection.close()
  }
}

async function run(store: RedisStore, options: Parsed, io: Io): Promise<number> {
  const {stdout, stderr} = io
  const print = (text: string, json: unknown) =>
    stdout.write(`${options.json ? JSON.stringify(json) : text}\n`)
  const progress = new ProgressLine(stderr, options.quiet)
  const sid = options.operand as string
  // Values that cannot be read go in the command's own output, not a process warning.
  const unreadable = new Map<string, string>()
  store.on("corrupt", (error: CorruptSessionError) => {
    unreadable.set(error.sid, error.message)
  })
  switch (options.command) {
    case "count": {
      // Every stored session, readable or not: as many as list prints.
      const count = await store.length({progress: (done) => progress.tick("counted", done)})
      progress.end("counted", count)
      print(String(count), {count})
      return EXIT.done
    }
    case "list": {
      let listed = 0
      for await (const [id] of store.entries()) {
        print(id, {id})
        progress.tick("listed", ++listed)
      }
      for (const id of unreadable.keys()) print(`${id} (unreadable)`, {id, unreadable: true})
      progress.end("listed", listed + unreadable.size)
      if (unreadable.size > 0) stderr.write(`${unreadable.size} ${cannotRead(options)}\n`)
      return EXIT.done
    }
    case "show": {
      const session = await store.get(sid)
      const why = unreadable.get(sid)
      if (why !== undefined) {
        stderr.write(`Session ${JSON.stringify(sid)} is there but cannot be read: ${why}\n`)
        return EXIT.notDone
      }
      if (session === null) {
        stderr.write(
          `No session ${JSON.stringify(sid)} under prefix ${JSON.stringify(store.prefix)}\n`,
        )
        return EXIT.notDone
      }
      print(JSON.stringify(session, null, 2), {id: sid, session})
      return EXIT.done
    }
    case "revoke": {
      const existed = (await store.get(sid)) !== null
      await store.destroy(sid)
      print(existed ? `revoked ${sid}` : `no session ${sid}; it stays dead anyway`, {
        id: sid,
        revoked: existed,
      })
      return EXIT.done
    }
    case "sessions": {
      const owned = await store.sessionsOf(sid)
      for (const {id, createdAt, lastSeenAt} of owned) {
        print(`${id}  created ${timeText(createdAt)}  last seen ${timeText(lastSeenAt)}`, {
          id,
          createdAt: createdAt ?? null,
          lastSeenAt: lastSeenAt ?? null,
        })
      }
      if (!options.json) stderr.write(`${owned.length} live session(s) of ${sid}\n`)
      return EXIT.done
    }
    case "revoke-owner": {
      if (options.except.length > 0) {
        // A mistyped --except would end the very session it meant to keep: check first.
        const live = new Set((await store.sessionsOf(sid)).map((owned) => owned.id))
        const unknown = options.except.filter((id) => !live.has(id))
        if (unknown.length > 0) {
          stderr.write(
            `--except ${unknown.join(", ")}: not a live session of ${sid}; nothing was revoked\n`,
          )
          return EXIT.notDone
        }
      }
      const unconfirmed: string[] = []
      const revoked = await store.revokeOwner(sid, {
        except: options.except,
        unconfirmed: (ids) => unconfirmed.push(...ids),
      })
      print(`revoked ${revoked} session(s) of ${sid}`, {owner: sid, revoked, unconfirmed})
      if (unconfirmed.length === 0) return EXIT.done
      const unread = unconfirmed.filter((id) => unreadable.has(id)).length
      stderr.write(
        `${unconfirmed.length} indexed session(s) of ${sid} were left alive, not confirmed as theirs: ${unconfirmed.length - unread} with no owner at --owner-field ${options.ownerField}, ${unread} ${cannotRead(options)}. Their index entries are kept.\n`,
      )
      return EXIT.notDone
    }
    default: {
      if (!options.yes && !(io.stdin as {isTTY?: boolean}).isTTY) {
        stderr.write(
          "clear asks before it ends every session: with no terminal to ask on, give --yes\n",
        )
        return EXIT.notDone
      }
      if (!options.yes && !(await confirmed(io, store.prefix, options.url))) {
        stderr.write("Not confirmed: nothing was cleared.\n")
        return EXIT.notDone
      }
      let cleared = 0
      await store.clear({
        progress: (done) => {
          cleared = done
          progress.tick("cleared", done)
        },
      })
      progress.end("cleared", cleared)
      print(`cleared ${cleared} session(s)`, {cleared})
      return EXIT.done
    }
  }
}

/** The app's encryptedSerializer, its secrets read from the environment variables named. */
function serializerFrom(options: Parsed, env: NodeJS.ProcessEnv): Serializer {
  const secrets = options.secretEnv.map((name) => {
    const secret = env[name]
    if (secret === undefined || secret === "") {
      throw new UsageError(`--secret-env ${name}: that environment variable is not set`)
    }
    return secret
  })
  return encryptedSerializer({secrets})
}

/** A time for people: ISO 8601, or "unknown" (a session stored before times were kept). */
function timeText(time: number | undefined): string {
  return time === undefined ? "unknown" : new Date(time).toISOString()
}

function cannotRead(options: Parsed): string {
  return options.secretEnv.length === 0
    ? "stored value(s) cannot be read (encrypted? give --secret-env; or corrupted)"
    : "stored value(s) cannot be read (another secret, or corrupted)"
}
