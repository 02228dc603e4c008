// What each session object was loaded from, kept where no one but the store can see it:
// for concurrentWrites "merge", the stored value (its base), for its save to merge with; for
// the renewing read, until when that read already made the session live, for its touch.
//
// `get` stamps its note on the session object it returns; express-session's `createSession`
// carries it over to the Session it builds of that object; a save notes what it wrote.

/** What a request loaded, and from where. */
class Loaded {
  constructor(
    readonly key: string,
    /** The stored value exactly (concurrentWrites "merge"); undefined when not kept. */
    readonly value: string | undefined,
    /** Unix ms until which the read made the key live; NaN when it did not re-time it. */
    readonly renewedUntil: number,
  ) {}
}

/** A constructor that hands back the object it is given, so a subclass can stamp it. */
class GivenObject {
  constructor(object: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the point: Marked stamps `object`
    return object as GivenObject
  }
}

/**
 * A note in a private field stamped on a session object: no key that JSON, `Object.keys`,
 * for...in (express-session's own copying), `Reflect.ownKeys`, deep-equality checks (a
 * test's `toEqual`) or any serializer can see. Measured per stamp with the per-call
 * benchmark: ~30-90 ns; a WeakMap costs ~800 ns (most of it in the collector), a
 * non-enumerable symbol property ~300 ns, and an enumerable one shows up in deep-equality
 * checks.
 */
class Marked extends GivenObject {
  #loaded: Loaded

  private constructor(object: object, loaded: Loaded) {
    super(object)
    this.#loaded = loaded
  }

  static mark(object: object, loaded: Loaded): void {
    if (#loaded in object) {
      ;(object as Marked).#loaded = loaded
      return
    }
    try {
      new Marked(object, loaded)
    } catch {
      // An engine that refuses private fields on a frozen object: left unmarked, and so
      // saved whole (a plain write, as with "overwrite").
    }
  }

  /**
   * `mark` for an object just made (parsed from Redis, or a new Session), which holds no
   * note yet: the stamp without the check first, the cheaper path on every `get` (measured
   * ~40-90 ns less per call). An object that does hold one (a serializer that hands out the
   * same object twice) or is frozen goes the careful way.
   */
  static markFresh(object: object, loaded: Loaded): void {
    try {
      new Marked(object, loaded)
    } catch {
      Marked.mark(object, loaded)
    }
  }

  static of(object: object): Loaded | undefined {
    return #loaded in object ? (object as Marked).#loaded : undefined
  }
}

/**
 * `get` read `session` from `key`, stored as `value` (undefined: not kept), and made it live
 * until `renewedUntil` (NaN: it did not): noted on it, which is returned.
 */
export function noteRead<T extends object>(
  session: T,
  key: string,
  value: string | undefined,
  renewedUntil: number,
): T {
  Marked.markFresh(session, new Loaded(key, value, renewedUntil))
  return session
}

/**
 * `createSession` made `session` of `data`: the note of `data` is the Session's too. The
 * Session was just built, so it holds no note yet: the stamp goes without the check.
 */
export function carryNote(data: object, session: object): void {
  const loaded = Marked.of(data)
  if (loaded !== undefined) Marked.markFresh(session, loaded)
}

/** True when `session` carries a note (a read's, or a save's): it came through this store. */
export function isNoted(session: object): boolean {
  return Marked.of(session) !== undefined
}

/** What `session` was loaded from at `key`, or undefined when that is not known. */
export function baseOf(session: object, key: string): string | undefined {
  const loaded = Marked.of(session)
  return loaded !== undefined && loaded.key === key ? loaded.value : undefined
}

/** Until when the read of `session` from `key` made it live (Unix ms), or NaN. */
export function renewedUntilOf(session: object, key: string): number {
  const loaded = Marked.of(session)
  return loaded !== undefined && loaded.key === key ? loaded.renewedUntil : Number.NaN
}

/** `session` was written to `key` as `value`: that is its base from now on. */
export function noteWritten(session: object, key: string, value: string): void {
  Marked.mark(session, new Loaded(key, value, Number.NaN))
}
