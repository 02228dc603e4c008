import type {LuaScript} from "../scripts.js"

/**
 * The few Redis operations the store needs. Every client family gets one small adapter
 * that implements this; version quirks live in the adapters and nowhere else.
 *
 * Keys are passed and returned exactly as the store names them (`prefix + sid`). An
 * adapter whose client adds a key prefix of its own handles that prefix itself.
 */
export interface SessionClient {
  get(key: string): Promise<string | null>
  /**
   * SET, with EX when `ttlSeconds` is given (a positive whole number). With `onlyOverString`
   * it is SET ... GET (Redis 6.2+), which writes nothing and rejects with WRONGTYPE when the
   * key holds anything but a string (a tombstone).
   */
  set(
    key: string,
    value: string,
    ttlSeconds: number | undefined,
    onlyOverString: boolean,
  ): Promise<unknown>
  /** EXPIRE: re-times a key that exists, never creates one. */
  expire(key: string, ttlSeconds: number): Promise<unknown>
  /**
   * GETEX ... EX (Redis 6.2+): like `expire`, but rejects with WRONGTYPE and changes nothing
   * when the key holds anything but a string (a tombstone).
   */
  getEx(key: string, ttlSeconds: number): Promise<unknown>
  /** GETDEL (Redis 6.2+): deletes a string; rejects with WRONGTYPE on any other type. */
  getDel(key: string): Promise<unknown>
  del(key: string): Promise<unknown>
  /**
   * Values in the order of `keys`; the keys may span hash slots. `source` is the `source` of
   * the SCAN batch they came from, if any: where to find them first.
   */
  mget(keys: readonly string[], source?: unknown): Promise<(string | null)[]>
  /** Removes the keys (which may span hash slots); resolves to how many existed. */
  unlink(keys: readonly string[], source?: unknown): Promise<number>
  /** Runs a Lua script on `keys`, which share one hash slot; resolves to its reply. */
  runScript(script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown>
  /**
   * Runs a Lua script once for each hash slot among `keys` (which may span slots), with
   * the same `args`; `source` as for `mget`. Resolves to the replies, in no set order.
   */
  runScriptPerSlot(
    script: LuaScript,
    keys: readonly string[],
    args: readonly string[],
    source?: unknown,
  ): Promise<unknown[]>
  /**
   * Every string key that starts with `prefix` (sessions, never tombstones: SCAN ... TYPE
   * string, Redis 6.0+), on every master, one SCAN reply at a time (`count` is the SCAN
   * COUNT hint). A key may come more than once, as SCAN allows.
   */
  scan(prefix: string, count: number): AsyncIterable<ScanBatch>
  /** PING every endpoint the store needs (every master of a cluster), within the bound. */
  ping(): Promise<void>
  /** False when the client itself knows it cannot send now (connecting, reconnecting, closed). */
  isReady(): boolean
  /**
   * Calls `listener` when the client reports a change of connection; returns the undo. The
   * listener is held weakly: the caller keeps it alive as long as it wants the calls.
   */
  watch(listener: () => void): () => void
}

/** One SCAN reply: the keys, and an adapter's note of where it found them. */
export interface ScanBatch {
  keys: string[]
  source?: unknown
}
