/**
 * Counts distinct strings without keeping them, so `length()` over a million keys stays
 * small in memory while still dropping the duplicates SCAN may return.
 *
 * Each string is reduced to a 52-bit fingerprint (two independent 32-bit hashes) kept in an
 * open-addressing table of doubles: 8 bytes a slot, never more than half full, so about
 * 16 bytes a key against roughly 100 for a Set of the strings. Two different keys share a
 * fingerprint with a chance of about n²/2^53 (one in 10,000 at a million keys), which would
 * undercount by one.
 */
export class DistinctCounter {
  #table = new Float64Array(1024)
  #size = 0

  get size(): number {
    return this.#size
  }

  /** Counts `text`; true when it was not counted before (as far as fingerprints tell). */
  add(text: string): boolean {
    let h1 = 0x811c9dc5
    let h2 = 0x2c1b3c6d
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i)
      h1 = Math.imul(h1 ^ code, 0x01000193)
      h2 = Math.imul(h2 ^ code, 0x5bd1e995)
      h2 ^= h2 >>> 13
    }
    const home = finalMix(h1)
    // +1 keeps 0 free to mark an empty slot; the high part gives back `home` on growth.
    const fingerprint = home * 2 ** 20 + (finalMix(h2) >>> 12) + 1
    if (!this.#place(this.#table, fingerprint, home)) return false
    this.#size++
    if (this.#size * 2 > this.#table.length) this.#grow()
    return true
  }

  /** Puts a fingerprint in the table; false if it was already there. */
  #place(table: Float64Array, fingerprint: number, home: number): boolean {
    const mask = table.length - 1
    let slot = home & mask
    while (table[slot] !== 0) {
      if (table[slot] === fingerprint) return false
      slot = (slot + 1) & mask
    }
    table[slot] = fingerprint
    return true
  }

  #grow(): void {
    const larger = new Float64Array(this.#table.length * 2)
    for (const fingerprint of this.#table) {
      if (fingerprint !== 0)
        this.#place(larger, fingerprint, Math.floor((fingerprint - 1) / 2 ** 20))
    }
    this.#table = larger
  }
}

/** Spreads every input bit over the whole 32-bit result (an unsigned number). */
function finalMix(hash: number): number {
  let h = hash ^ (hash >>> 16)
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
