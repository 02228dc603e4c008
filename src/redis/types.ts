import type {OperationTrace} from "../diagnostics/trace.js"
import type {LuaScript} from "./scripts.js"

/**
 * What a read or a guarded write resolves to when the key holds a tombstone (or any value
 * that is not a string): Redis refused it with WRONGTYPE and changed nothing. A value, not
 * an exception: a logged-out cookie is a normal answer.
 */
export const TOMBSTONED: unique symbol = Symbol("tombstoned")
export type Tombstoned = typeof TOMBSTONED

/** What `get` does with a reply, in the same step; given the key, so it needs no closure. */
export type ReadFinish<R> = (reply: string | null | Tombstoned, key: string) => R

/**
 * The commands a client family supplies, in its own dialect: one small adapter per family
 * implements this, and version quirks live there and nowhere else. Only the client layer
 * (operations.ts) calls these; the store speaks the operations of SessionClient.
 *
 * Keys are passed and returned exactly as the store names them (`prefix + sid`). An
 * adapter whose client adds a key prefix of its own handles that prefix itself.
 */
export interface FamilyCommands {
  /**
   * GET, its reply (TOMBSTONED when the key holds anything but a string) turned into what
   * the caller wants by `finish` (given the key too), in the same step: `get` runs on every
   * request.
   */
  get<R>(key: string, finish: ReadFinish<R>): Promise<Awaited<R>>
  /**
   * SET, with PX when `ttlMs` is given (a positive whole number of milliseconds). With
   * `onlyOverString` it is SET ... GET (Redis 6.2+), which writes nothing when the key holds
   * anything but a string (a tombstone): a refusal, which is not an error.
   */
  set(
    key: string,
    value: string,
    ttlMs: number | undefined,
    onlyOverString: boolean,
    trace?: OperationTrace,
  ): Promise<void>
  /**
   * GETEX ... PX (Redis 6.2+): GET that also re-times the key, turned into what the caller
   * wants by `finish` as for `get`. A tombstone is left as it is (TOMBSTONED); a missing key
   * is not created.
   */
  getRenewing<R>(key: string, ttlMs: number, finish: ReadFinish<R>): Promise<Awaited<R>>
  /** PEXPIRE: re-times a key that exists, never creates one. */
  pExpire(key: string, ttlMs: number, trace?: OperationTrace): Promise<void>
  /** GETDEL (Redis 6.2+): deletes a string; leaves any other type (a tombstone) alone. */
  getDel(key: string, trace?: OperationTrace): Promise<void>
  del(key: string): Promise<void>
  /**
   * Values in the order of `keys`; the keys may span hash slots. `source` is the `source` of
   * the SCAN batch they came from, if any: where to find them first.
   */
  mget(keys: readonly string[], source?: unknown): Promise<(string | null)[]>
  /** Removes the keys (which may span hash slots); resolves to how many existed. */
  unlink(keys: readonly string[], source?: unknown): Promise<number>
  /**
   * Runs a Lua script on `keys`, which share one hash slot; resolves to its reply, or to what
   * `finish` makes of it in the same step (TOMBSTONED when the script met another type).
   */
  runScript<R = unknown>(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    finish?: (reply: unknown) => R,
  ): Promise<R>
  /**
   * Runs a Lua script once for each hash slot among `keys` (which may span slots), with
   * the same `args`; `source` as for `mget`. Resolves to the replies, in no set order.
   * `onNode`, when given, is the same work as one script over keys of many slots (keys in
   * ARGV after `args`): on a Redis 7 cluster a whole SCAN batch is sent to its master at once.
   */
  runScriptPerSlot(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    source?: unknown,
    onNode?: LuaScript,
  ): Promise<unknown[]>
  /**
   * Every string key that starts with `prefix` (sessions, never tombstones: SCAN ... TYPE
   * string, Redis 6.0+), on every master, one SCAN reply at a time (`count` is the SCAN
   * COUNT hint). A key may come more than once, as SCAN allows.
   */
  scan(prefix: string, count: number): AsyncIterable<ScanBatch>
  /** PING every endpoint the store needs (every master of a cluster), within the bound. */
  ping(): Promise<void>
  /** The store was closed: commands still waiting for a first connection fail now. */
  release(): void
  /** False when the client itself knows it cannot send now (connecting, reconnecting, closed). */
  isReady(): boolean
  /** True once the client was closed (by the app, mostly), as opposed to reconnecting. */
  isClosed(): boolean
  /**
   * Calls `listener` when the client reports a change of connection; returns the undo. The
   * listener is held weakly: the caller keeps it alive as long as it wants the calls.
   */
  watch(listener: () => void): () => void
}

/**
 * What the store asks of Redis, in its own words: the client layer (operations.ts over a
 * family's commands, or redundant mode over several) turns each into commands. Tombstones
 * are decided inside the layer (TombstonePolicy); a tombstone met by a read or a write is
 * the value TOMBSTONED or a quiet refusal, never an error the store has to recognise.
 *
 * `trace`, given only while someone listens to the store's diagnostics channels, is told
 * what the call met on its way (a refusal, nothing to re-time, a server that failed).
 */
export interface SessionClient {
  /**
   * The value at `key` (TOMBSTONED for a tombstone) turned into what the caller wants by
   * `finish` (given the key too), in the same step: this runs on every request.
   */
  read<R>(key: string, finish: ReadFinish<R>, trace?: OperationTrace): Promise<Awaited<R>>
  /**
   * As `read`, and the key (a session, never a tombstone) lives `ttlMs` from now: one round
   * trip for a request that loads a session and changes nothing. Absent where that cannot be
   * done in one step (redundant mode).
   */
  readRenewing?<R>(
    key: string,
    ttlMs: number,
    finish: ReadFinish<R>,
    trace?: OperationTrace,
  ): Promise<Awaited<R>>
  /** The value and the milliseconds it has left to live (-1: no expiry); null if none. */
  readWithLife(key: string, trace?: OperationTrace): Promise<{value: string; ttlMs: number} | null>
  /** Values in the order of `keys` (any slots); `source` as SCAN gave it, if the keys came so. */
  readMany(keys: readonly string[], source?: unknown): Promise<(string | null)[]>
  /** Writes the value, with an expiry when `ttlMs` is given; a tombstone refuses it quietly. */
  write(
    key: string,
    value: string,
    ttlMs: number | undefined,
    trace?: OperationTrace,
  ): Promise<void>
  /**
   * Writes the value only if `key` still holds `expected` (or nothing), in one atomic step;
   * a tombstone refuses it quietly. Resolves to null when done, or to the value held now
   * when it is another. Absent where the guarantee cannot be given (redundant mode).
   */
  writeIfUnchanged?(
    key: string,
    expected: string,
    value: string,
    ttlMs: number | undefined,
    trace?: OperationTrace,
  ): Promise<string | null>
  /**
   * Re-times a value that exists (never creates one, never a tombstone), without reading it
   * back; <= 0 deletes it.
   */
  retime(key: string, ttlMs: number, trace?: OperationTrace): Promise<void>
  /** Ends a session: a tombstone in its place, or a plain delete when tombstones are off. */
  end(key: string, trace?: OperationTrace): Promise<void>
  /** Ends the sessions at `keys` (any slots), as `end`; `source` as for `readMany`. */
  endMany(keys: readonly string[], source?: unknown): Promise<unknown>
  /** Copies a value (with its stamp and life) onto this server unless it holds a newer one. */
  repair(key: string, value: string, ttlMs: number): Promise<void>
  /** Runs one of the owner index's scripts on `keys`, which share one hash slot. */
  runScript(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown>
  scan(prefix: string, count: number): AsyncIterable<ScanBatch>
  ping(): Promise<void>
  release(): void
  isReady(): boolean
  isClosed(): boolean
  watch(listener: () => void): () => void
}

/** One SCAN reply: the keys, and an adapter's note of where it found them. */
export interface ScanBatch {
  keys: string[]
  source?: unknown
}
