// Node-style callbacks beside promises: every store method takes an optional callback, as
// express-session passes one to each call.
//
// Two ways to deliver: `withCallback` turns a promise's outcome into a call (a promise of
// its own per call), for the methods off the per-request path; `get`, `set` and `touch`
// hand the callback down to the client layer instead (a Sink), which calls it in the same
// step as the reply settles the call: no extra promise on every request.

/** A Node-style callback, as express-session passes to every store method. */
export type Callback<T> = (error: unknown, result?: T) => void

/**
 * A callback handed down to the client layer with a call, which gives it the call's outcome
 * once, in the same step as the reply (or the time bound); the call's promise then only
 * resolves, to undefined, and never rejects.
 */
export type Sink<T> = Callback<T>

/**
 * Runs `work` and reports its outcome through `callback` when one is given (then the
 * returned promise never rejects, so a caller who only passed a callback never sees an
 * unhandled rejection), or through the returned promise when none is.
 */
export function withCallback<T>(
  callback: Callback<T> | null | undefined,
  work: () => Promise<T>,
): Promise<T | undefined> {
  if (callback === undefined || callback === null) return work()
  if (typeof callback !== "function") return Promise.reject(notAFunction())
  let outcome: Promise<T>
  try {
    outcome = work()
  } catch (error) {
    // A client method that throws instead of rejecting: still the callback's to hear.
    outcome = Promise.reject(error)
  }
  return outcome.then(
    (result) => {
      invoke(callback, null, result)
      return result
    },
    (error: unknown) => {
      invoke(callback, error)
      return undefined
    },
  )
}

/** The error for a callback argument that is not a function. */
export function notAFunction(): TypeError {
  return new TypeError("The callback must be a function when given")
}

/** `promise`'s outcome given to `sink` when there is one (a path that has no Sink of its own). */
export function deliverTo<T>(promise: Promise<T>, sink: Sink<T> | undefined): Promise<T> {
  if (sink === undefined) return promise
  return promise.then(
    (result) => {
      invoke(sink, null, result)
      return undefined as T
    },
    (error: unknown) => {
      invoke(sink, error)
      return undefined as T
    },
  )
}

const DONE: Promise<undefined> = Promise.resolve(undefined)

/**
 * An outcome known at once, given to `sink` on the next microtask (a callback is never
 * called before the call that takes it has returned), and a promise that resolves after it.
 */
export function deliverSoon<T>(sink: Sink<T>, error: unknown, result?: T): Promise<T> {
  queueMicrotask(() => invoke(sink, error, result))
  return DONE as Promise<T>
}

/** Calls `callback`; should it throw, the exception surfaces outside the store's promises. */
export function invoke<T>(callback: Callback<T>, error: unknown, result?: T): void {
  try {
    if (error === null) callback(null, result)
    else callback(error)
  } catch (thrown) {
    // The caller's own callback threw: rethrow it outside our promise chain, where it
    // surfaces like any exception from a callback, instead of calling it a second time.
    process.nextTick(() => {
      throw thrown
    })
  }
}
