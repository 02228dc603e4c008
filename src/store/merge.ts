// concurrentWrites "merge": a request's save keeps what other requests of the same user
// changed since it loaded the session.
//
// express-session saves the whole session at the end of each request, so of two requests
// that overlap the last save wins and drops the other's change. Here each save knows what
// its request loaded (the base), and Redis writes it only if it still holds that base, in
// one atomic step (WRITE_IF_UNCHANGED); in the common case that is the one round trip. When
// another write came in between, Redis answers with what it holds now ("theirs"), and the
// save is merged with it field by field and tried again.
//
// Field by field, at the top level only: a field this request changed against its base gets
// this request's change; one it did not change keeps what Redis holds now; one both changed
// differently goes to `resolveConflict`, else to this request. Values are compared by their
// JSON form (Map, Set and BigInt made visible) and never merged inside: a Date or a class
// instance comes back exactly as the request had it. connect-redis 6.1 merged inside values
// and turned Dates into `{}`; that is what this avoids.
//
// Where the base comes from: `get` notes the value it read, where no one else can see it
// (LoadedNotes). express-session builds each request's Session through the store's
// `createSession`, which carries the note over to that Session; a script that passes what
// `get` returned straight to `set` is known too.
// @fastify/session builds its Session without the store's help, so there the base is not
// known and a save overwrites, as connect-redis does.

import type {SessionData} from "express-session"
import {byteSize, type OperationTrace} from "../diagnostics/trace.js"
import {ConcurrentWriteError} from "../errors.js"
import type {SessionClient} from "../redis/index.js"
import type {SessionCodec} from "./codec.js"
import {baseOf, noteWritten} from "./loaded-notes.js"

/** Decides a field both requests changed differently; undefined removes the field. */
export type ResolveConflict = (
  field: string,
  versions: {base: unknown; mine: unknown; theirs: unknown},
) => unknown

/** How many times a save meets another request's write before it gives up. */
export const MAX_SAVE_ATTEMPTS = 50

/**
 * After its second conflict a save waits a random while before it tries again, up to this
 * many milliseconds (doubling from 1 ms). Without it, many requests saving one session at
 * once all retry at once and only one of them wins each time: measured with 32 requests of
 * one user kept in flight, a fifth of the saves lost 50 times in a row.
 */
const MAX_BACKOFF_MS = 64

export interface MergeContext {
  readonly redis: SessionClient
  readonly codec: SessionCodec
  readonly resolveConflict: ResolveConflict | undefined
  /** Told of a merged session before it is written (the owner index re-reads its owner). */
  readonly merged: (
    sid: string,
    session: SessionData,
    ttlMs: number | undefined,
  ) => Promise<unknown> | undefined
}

/** Saves sessions with concurrentWrites "merge". */
export class MergingWriter {
  readonly #redis: SessionClient
  readonly #writeIfUnchanged: NonNullable<SessionClient["writeIfUnchanged"]>

  constructor(readonly context: MergeContext) {
    const {redis} = context
    if (redis.writeIfUnchanged === undefined) {
      throw new TypeError('concurrentWrites "merge" is not available with these clients')
    }
    this.#redis = redis
    this.#writeIfUnchanged = redis.writeIfUnchanged
  }

  /** Writes `value` (the serialized `session`), merged with what others wrote meanwhile. */
  write(
    sid: string,
    key: string,
    session: SessionData,
    value: string,
    ttlMs: number | undefined,
    trace?: OperationTrace,
  ): Promise<void> {
    const base = baseOf(session, key)
    if (base === undefined) {
      // Nothing loaded (a new session, regenerate, an admin script): written as it is, and
      // known from now on, for a second save of the same request. Noted before the write
      // lands, which spares every new session a promise: should the write fail and the
      // request save again, the script finds no key (it writes the session whole) or this
      // very value (it had landed after all). Anything else there was written by someone
      // who had read this value, so merging with it is right. A loaded session's note, in
      // contrast, waits for its write (below): noting a value that never landed would make
      // a second save undo the first one's changes.
      noteWritten(session, key, value)
      return this.#redis.write(key, value, ttlMs, trace)
    }
    return this.#writeIfUnchanged(key, base, value, ttlMs, trace).then((held) =>
      held === null
        ? noteWritten(session, key, value)
        : this.#rebase(sid, key, session, ttlMs, base, held, trace),
    )
  }

  /**
   * Another write came in: merge with it, and try again, a bounded number of times. At each
   * step, `built` is the stored value the session is built on and `held` the newest one known.
   */
  async #rebase(
    sid: string,
    key: string,
    session: SessionData,
    ttlMs: number | undefined,
    base: string,
    theirs: string,
    trace: OperationTrace | undefined,
  ): Promise<void> {
    const {codec} = this.context
    let [built, held] = [base, theirs]
    let value = ""
    for (let attempt = 1; ; attempt++) {
      if (attempt === MAX_SAVE_ATTEMPTS) throw new ConcurrentWriteError(attempt)
      if (trace !== undefined) trace.retries = attempt
      if (attempt >= 2) {
        // Several savers collided: wait a random while, then merge with what is there by
        // then (a missing key or a tombstone is left to the write to decide).
        await backOff(attempt)
        held = (await this.#redis.read(key, rawString)) ?? held
      }
      const [before, now] = await Promise.all([codec.read(built, sid), codec.read(held, sid)])
      if (before === null || now === null) {
        // What is there cannot be read (reported as corrupt): nothing to keep from it.
        value = await codec.serialize(session)
        if (trace !== undefined) trace.bytes = byteSize(value)
        await this.#redis.write(key, value, ttlMs, trace)
        break
      }
      mergeFields(session, before, now, this.context.resolveConflict)
      await this.context.merged(sid, session, ttlMs)
      value = await codec.serialize(session)
      if (trace !== undefined) {
        trace.bytes = byteSize(value)
        trace.outcome = "merged"
      }
      const newer = await this.#writeIfUnchanged(key, held, value, ttlMs, trace)
      if (newer === null) break
      ;[built, held] = [held, newer]
    }
    noteWritten(session, key, value)
  }
}

/** A read's reply as it is: the stored text, or null for none (or a tombstone). */
function rawString(reply: unknown): string | null {
  return typeof reply === "string" ? reply : null
}

/** Waits a random while ("full jitter"), so that savers that collided spread out. */
function backOff(attempt: number): Promise<void> {
  const ceiling = Math.min(MAX_BACKOFF_MS, 2 ** (attempt - 2))
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling))
}

type Fields = Record<string, unknown>

/**
 * Brings into `session` (this request's) what `theirs` changed since `base`, field by
 * field; the cookie stays this request's. A field the session object holds as anything but
 * an own enumerable property (a method, an accessor, express-session's `id`) is never
 * touched, whatever a stored value says.
 */
export function mergeFields(
  session: SessionData,
  base: SessionData,
  theirs: SessionData,
  resolveConflict: ResolveConflict | undefined,
): void {
  const [mine, was, now] = [session, base, theirs] as unknown as [Fields, Fields, Fields]
  const fields = new Set([...Object.keys(mine), ...Object.keys(was), ...Object.keys(now)])
  fields.delete("cookie")
  // JSON.parse makes "__proto__" an own field; assigning it would swap the prototype.
  fields.delete("__proto__")
  for (const field of fields) {
    const mineHas = Object.prototype.propertyIsEnumerable.call(mine, field)
    if (!mineHas && field in mine) continue
    const baseForm = formOf(own(was, field))
    const mineForm = formOf(mineHas ? mine[field] : undefined)
    if (mineForm === baseForm) {
      // Not changed by this request: what Redis holds now stands.
      put(mine, field, own(now, field))
      continue
    }
    const theirsForm = formOf(own(now, field))
    if (theirsForm === baseForm || theirsForm === mineForm || resolveConflict === undefined) {
      continue
    }
    const versions = {base: own(was, field), mine: mine[field], theirs: own(now, field)}
    put(mine, field, resolveConflict(field, versions))
  }
}

function own(fields: Fields, field: string): unknown {
  return Object.hasOwn(fields, field) ? fields[field] : undefined
}

function put(fields: Fields, field: string, value: unknown): void {
  if (value === undefined) delete fields[field]
  else fields[field] = value
}

/** A value's JSON form, for "did it change"; a value JSON cannot write counts as changed. */
function formOf(value: unknown): string | symbol | undefined {
  if (value === undefined) return undefined
  try {
    return JSON.stringify(value, visible)
  } catch {
    return Symbol("not comparable")
  }
}

/** Makes what JSON writes as `{}` (Map, Set) or cannot write (BigInt) comparable. */
function visible(_key: string, value: unknown): unknown {
  if (value instanceof Map) return ["Map", [...value]]
  if (value instanceof Set) return ["Set", [...value]]
  if (typeof value === "bigint") return ["BigInt", `${value}`]
  return value
}
