// The admin command line: `npx redis-session-store <command>`. A thin shell over the store's
// own methods, so it keeps every promise they make (batches of scanCount, tombstones, the
// time bound). The client comes from the app's own package (see cli-connection.ts); its flags are read in command-line.ts.

import {type CorruptSessionError, UsageError} from "../errors.js"
import {guessedOwner} from "../owners/owner-index.js"
import {type CliConnection, connect} from "../redis/cli-connection.js"
import {encryptedSerializer} from "../store/encrypted-serializer.js"
import type {Serializer} from "../store/options.js"
import {RedisStore} from "../store/store.js"
import {EXIT, HELP, type Parsed, parseCommandLine} from "./command-line.js"
import {confirmed, fieldReader, messageOf, ProgressLine, safeUrl} from "./helpers.js"
import {OwnerDoubts} from "./owner-doubts.js"

export {EXIT, HELP} from "./command-line.js"

interface Io {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  stdin: NodeJS.ReadableStream
  env: NodeJS.ProcessEnv
}

/** Runs one command line; resolves to the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  let options: Parsed | "help"
  try {
    options = parseCommandLine(argv, io.env)
  } catch (error) {
    io.stderr.write(`error: ${(error as Error).message}\n\n${HELP}\n`)
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
    // A missing client package or a cluster node without --cluster is no reachability problem.
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n`)
      return EXIT.usage
    }
    io.stderr.write(`error: ${connectionFailure(options.url, error)}\n`)
    return EXIT.redisFailed
  }
  // --owner-field is a guess at the app's owner option: the index is never changed on its word.
  const doubts = new OwnerDoubts()
  try {
    const store = new RedisStore({
      client: connection.client as never,
      prefix: options.prefix,
      ...(options.scanCount === undefined ? {} : {scanCount: options.scanCount}),
      ...(options.ownerField === undefined
        ? {}
        : {owner: guessedOwner(fieldReader(options.ownerField), doubts)}),
      ...(options.secretEnv.length === 0 ? {} : {serializer: serializerFrom(options, io.env)}),
      connectionEvents: false,
    })
    return await run(store, options, io, doubts)
  } catch (error) {
    io.stderr.write(`error: ${messageOf(error)}\n`)
    return error instanceof TypeError || error instanceof UsageError ? EXIT.usage : EXIT.redisFailed
  } finally {
    await connection.close()
  }
}

async function run(
  store: RedisStore,
  options: Parsed,
  io: Io,
  doubts: OwnerDoubts,
): Promise<number> {
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
        const hint = options.secretEnv.length === 0 ? " (encrypted? give --secret-env)" : ""
        stderr.write(`Session ${JSON.stringify(sid)} is there but cannot be read${hint}: ${why}\n`)
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
      return doubted(doubts, "were not listed", unreadable, options, io)
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
      const revoked = await store.revokeOwner(sid, {except: options.except})
      print(`revoked ${revoked} session(s) of ${sid}`, {
        owner: sid,
        revoked,
        unconfirmed: [...doubts.unsure],
        otherOwner: Object.fromEntries(doubts.others),
      })
      return doubted(doubts, "were left alive", unreadable, options, io)
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

/**
 * Exit 1 with what was not confirmed, when an owner's indexed sessions could not all be: the
 * listing or the revocation is then not the whole of that owner's sessions.
 */
function doubted(
  doubts: OwnerDoubts,
  what: string,
  unreadable: ReadonlyMap<string, string>,
  options: Parsed,
  io: Io,
): number {
  const ids = new Set(unreadable.keys())
  const message = doubts.describe(
    options.operand as string,
    options.ownerField as string,
    what,
    ids,
    cannotRead(options),
  )
  if (message === undefined) return EXIT.done
  io.stderr.write(message)
  return EXIT.notDone
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

/** Why the first connection failed; a server that answers in another protocol is named so. */
function connectionFailure(url: string, error: unknown): string {
  const message = messageOf(error)
  if (/RESP type|protocol error/i.test(message)) {
    return `${safeUrl(url)} answered, but it is not a Redis server (an HTTP port?): ${message}`
  }
  return `cannot reach ${safeUrl(url)}: ${message}`
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
