// The reads the store keeps for saves that come without createSession (@fastify/session):
// bounded in count and age, kept only once a save came with a session no read noted, and
// none kept once createSession shows express-session is there.
// A plain data structure: no Redis needed.

import {describe, expect, it} from "vitest"
import {noteRead} from "../src/store/loaded-notes.js"
import {InFlightReads, Renewal} from "../src/store/renewal.js"

const read = (at: number) => ({raw: "{}", cookie: {}, renewedUntil: Number.NaN, at})

/** Reads kept, as after a save of a session no read noted (a framework's own Session). */
function keeping(): InFlightReads {
  const reads = new InFlightReads()
  reads.take("new", Date.now(), {})
  return reads
}

describe("InFlightReads", () => {
  it("keeps at most about 1,000 reads however many requests never save", () => {
    const reads = keeping()
    const now = Date.now()
    for (let i = 0; i < 50_000; i++) reads.remember(`s${i}`, read(now))
    expect(reads.size).toBeLessThanOrEqual(1000)
    // The newest are still there, the oldest gone.
    expect(reads.take("s49999", now, {})).toBeDefined()
    expect(reads.take("s0", now, {})).toBeUndefined()
  })

  it("gives a read once, and not after a minute", () => {
    const reads = keeping()
    const now = Date.now()
    reads.remember("a", read(now))
    reads.remember("old", read(now - 61_000))
    expect(reads.take("a", now, {})).toBeDefined()
    expect(reads.take("a", now, {})).toBeUndefined()
    expect(reads.take("old", now, {})).toBeUndefined()
    expect(reads.size).toBe(0)
  })

  it("keeps nothing until a save comes with a session no read noted", () => {
    const reads = new InFlightReads()
    expect(reads.wanted).toBe(false)
    // A script saving what get returned (noted): keeping reads would serve nothing.
    const noted = noteRead({cookie: {}}, "p:a", "{}", Number.NaN)
    expect(reads.take("a", Date.now(), noted)).toBeUndefined()
    expect(reads.wanted).toBe(false)
    // A framework's own Session object, or a new session: from now on reads are kept.
    expect(reads.take("b", Date.now(), {cookie: {}})).toBeUndefined()
    expect(reads.wanted).toBe(true)
  })

  it("keeps nothing once createSession said the store serves express-session", () => {
    const reads = keeping()
    reads.remember("a", read(Date.now()))
    reads.notWanted()
    expect(reads.wanted).toBe(false)
    expect(reads.size).toBe(0)
    expect(reads.take("a", Date.now(), {})).toBeUndefined()
    // A new session's save afterwards does not start the keeping again.
    expect(reads.take("b", Date.now(), {})).toBeUndefined()
    expect(reads.wanted).toBe(false)
  })
})

describe("Renewal", () => {
  it("guesses the learned life less 100 ms, rounded, the same for a millisecond less", () => {
    const renewal = new Renewal()
    expect(renewal.guessMs).toBe(0)
    renewal.learn(86_400_000)
    expect(renewal.guessMs).toBe(86_399_900)
    renewal.learn(86_399_999)
    expect(renewal.guessMs).toBe(86_399_900)
    renewal.learn(undefined)
    renewal.learn(-5)
    expect(renewal.guessMs).toBe(86_399_900)
  })

  it("covers a touch only when the renewal ends no later and at most a second sooner", () => {
    const now = 1_000_000
    expect(Renewal.covers(now + 59_900, 60_000, now)).toBe(true)
    expect(Renewal.covers(now + 60_000, 60_000, now)).toBe(true)
    expect(Renewal.covers(now + 60_001, 60_000, now)).toBe(false)
    expect(Renewal.covers(now + 58_999, 60_000, now)).toBe(false)
    expect(Renewal.covers(Number.NaN, 60_000, now)).toBe(false)
  })
})
