// Walking every key under a prefix in batches: the shape of all bulk work (length, ids, all,
// entries, clear), so that it never floods Redis or the heap, whatever the number of sessions.

import type {ScanBatch, SessionClient} from "./clients/index.js"

/**
 * Keys under `prefix`, at most `limit` at a time, from every master. SCAN's COUNT is only a
 * hint, so a long reply is cut to size here.
 */
export async function* keyBatches(
  redis: SessionClient,
  prefix: string,
  limit: number,
): AsyncGenerator<ScanBatch> {
  for await (const reply of redis.scan(prefix, limit)) {
    // MATCH already selects our keys; checking again keeps the promise never to read or
    // delete another prefix's key even if a client bent the pattern.
    const keys = reply.keys.filter((key) => key.startsWith(prefix))
    for (let start = 0; start < keys.length; start += limit) {
      yield {
        keys: keys.length <= limit ? keys : keys.slice(start, start + limit),
        source: reply.source,
      }
    }
  }
}

/**
 * Runs `handle` on each batch while the next SCAN is already on its way, so a batch costs
 * one round trip rather than two. At most two batches are in flight at once.
 */
export async function eachBatch(
  batches: AsyncIterable<ScanBatch>,
  handle: (keys: string[], source: unknown) => Promise<void>,
): Promise<void> {
  let inFlight: Promise<void> | undefined
  try {
    for await (const {keys, source} of batches) {
      const previous = inFlight
      inFlight = handle(keys, source)
      // Marked as handled now, awaited (and its error thrown) below: a batch that fails
      // while we wait for SCAN must not surface as an unhandled rejection.
      inFlight.catch(() => {})
      await previous
    }
  } finally {
    // Also on a failed SCAN: never leave a batch running behind the caller's back.
    await inFlight?.catch(() => {})
  }
  await inFlight
}
