// Walking every key under a prefix in batches: the shape of all bulk work (length, ids, all,
// entries, clear), so that it never floods Redis or the heap, whatever the number of sessions.

import type {ScanBatch, SessionClient} from "../redis/index.js"

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

/** How many batches `eachBatch` works on at once: enough to keep three masters busy. */
export const BATCHES_IN_FLIGHT = 4

/**
 * Runs `handle` on up to `limit` batches at once while the walk goes on, so a batch costs
 * less than a round trip and a cluster's masters work side by side. Every command still
 * carries one batch (at most `scanCount` keys), and memory holds at most `limit` batches.
 * The first failure stops the walk; it is thrown once the batches already sent are done.
 */
export async function eachBatch(
  batches: AsyncIterable<ScanBatch>,
  handle: (keys: string[], source: unknown) => Promise<void>,
  limit = BATCHES_IN_FLIGHT,
): Promise<void> {
  const inFlight = new Set<Promise<void>>()
  let failure: {error: unknown} | undefined
  try {
    for await (const {keys, source} of batches) {
      const work: Promise<void> = handle(keys, source).then(
        () => {
          inFlight.delete(work)
        },
        (error: unknown) => {
          inFlight.delete(work)
          failure ??= {error}
        },
      )
      inFlight.add(work)
      if (inFlight.size >= limit) await Promise.race(inFlight)
      if (failure) break
    }
  } finally {
    // Also on a failed SCAN: never leave a batch running behind the caller's back.
    await Promise.all(inFlight)
  }
  if (failure) throw failure.error
}
