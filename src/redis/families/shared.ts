// Helpers every client adapter uses: telling what an object can do, hearing its connection
// events, walking SCAN, and reading replies.

import {cannotCompileCrossSlot, isCrossSlotRefusal} from "../../errors.js"
import {prefixPattern} from "../../store/keys.js"
import type {Bounds} from "../bounds.js"
import type {FamilyCommands, ScanBatch} from "../types.js"

export function hasMethods(client: object, names: readonly string[]): boolean {
  const methods = client as Record<string, unknown>
  return names.every((name) => typeof methods[name] === "function")
}

/**
 * A client's own key prefix (node-redis 6.1+ and ioredis `keyPrefix`) as read off its
 * options, or "". Only a string can be matched by SCAN and stripped off its replies.
 */
export function stringKeyPrefix(prefix: unknown): string {
  if (prefix === undefined || prefix === null) return ""
  if (typeof prefix === "string") return prefix
  throw new TypeError("The client's keyPrefix must be a string to be used with RedisStore")
}

/** MGET replies as the store wants them: strings, or null for a missing key. */
export function toValues(replies: readonly unknown[]): (string | null)[] {
  return replies.map((value) =>
    typeof value === "string" ? value : value == null ? null : String(value),
  )
}

/**
 * Stores that watch a client, per client: one listener per event on the client, whatever the
 * number of stores (no listener pile-up), and each store's handler held weakly, so that a
 * store the app dropped can still be collected.
 */
const watchers = new WeakMap<object, Set<WeakRef<() => void>>>()

/** Calls `listener` on each of `events` of `client`; returns the undo. */
export function watchEvents(
  client: object,
  events: readonly string[],
  listener: () => void,
): () => void {
  const emitter = client as {on?: unknown}
  if (typeof emitter.on !== "function") return () => {}
  let handlers = watchers.get(client)
  if (handlers === undefined) {
    const shared = new Set<WeakRef<() => void>>()
    const fire = () => {
      for (const ref of shared) {
        const handler = ref.deref()
        if (handler === undefined) shared.delete(ref)
        else handler()
      }
    }
    const on = emitter.on as (event: string, listener: () => void) => unknown
    for (const event of events) on.call(client, event, fire)
    watchers.set(client, shared)
    handlers = shared
  }
  const ref = new WeakRef(listener)
  handlers.add(ref)
  return () => handlers.delete(ref)
}

/** What the client layer asks of a client's connection: readiness, closing, its events. */
export function connection<C extends object>(
  client: C,
  bounds: Bounds,
  isReady: (client: C) => boolean,
  events: readonly string[],
): Pick<FamilyCommands, "isReady" | "isClosed" | "release" | "watch"> {
  return {
    isReady: () => isReady(client),
    isClosed: () => !isReady(client) && bounds.isClosed(client),
    release: () => bounds.release(),
    watch: (listener) => watchEvents(client, events, listener),
  }
}

/** One SCAN call on one endpoint, in the client's own dialect. */
export type ScanCall = (
  cursor: string,
  match: string,
) => Promise<{cursor: unknown; keys: unknown[]}>

/**
 * Walks SCAN on one endpoint (`source`) over every key under `prefix`. SCAN MATCH sees keys
 * as stored, client prefix and all, and its replies carry that prefix: it is matched here and
 * stripped from the keys, so they come out as the store names them.
 */
export async function* scanEndpoint(
  scan: ScanCall,
  source: unknown,
  clientPrefix: string,
  prefix: string,
): AsyncGenerator<ScanBatch> {
  const match = prefixPattern(clientPrefix + prefix)
  let cursor = "0"
  do {
    const reply = await scan(cursor, match)
    cursor = String(reply.cursor)
    yield {keys: reply.keys.map((key) => String(key).slice(clientPrefix.length)), source}
  } while (cursor !== "0")
}

/**
 * The batches of several walks (one per master), each walk with one SCAN in flight at a
 * time, yielded as they come: a cluster's masters are scanned side by side rather than one
 * after the other. Stopping early (or a failed walk) ends every walk.
 */
export async function* interleave(walks: AsyncIterator<ScanBatch>[]): AsyncGenerator<ScanBatch> {
  const next = (walk: AsyncIterator<ScanBatch>, index: number) =>
    walk.next().then((result) => ({result, index}))
  const pending = new Map(walks.map((walk, index) => [index, next(walk, index)]))
  try {
    while (pending.size > 0) {
      const {result, index} = await Promise.race(pending.values())
      if (result.done) {
        pending.delete(index)
        continue
      }
      pending.set(index, next(walks[index] as AsyncIterator<ScanBatch>, index))
      yield result.value
    }
  } finally {
    // Leave no SCAN running behind the caller, and no rejection unhandled.
    for (const promise of pending.values()) promise.catch(() => {})
    await Promise.allSettled(walks.map((walk) => walk.return?.()))
  }
}

/**
 * For a cluster on Redis 7: runs a whole SCAN batch with one cross-slot script on the master
 * it came from, or resolves to undefined when that cannot be done now (a slot moved, the
 * server is older), and the caller goes slot by slot. A server that cannot compile such a
 * script is not asked again.
 */
export function crossSlotBatches() {
  let supported = true
  return async (run: () => Promise<unknown>): Promise<{reply: unknown} | undefined> => {
    if (!supported) return undefined
    try {
      return {reply: await run()}
    } catch (error) {
      if (!isCrossSlotRefusal(error)) throw error
      if (cannotCompileCrossSlot(error)) supported = false
      return undefined
    }
  }
}
