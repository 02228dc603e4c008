// What the command line could not confirm about an owner's indexed sessions. Its
// --owner-field is only a guess at the app's owner option: a session the guess says is
// someone else's (a field that exists but names something else, user.name for user.id) is
// never dropped from the index on that word, only counted here and told to the user.

import type {GuessReport} from "../owners/owner-index.js"

/** How many ids a message names before it says "...". */
const NAMED = 3

export class OwnerDoubts implements GuessReport {
  /** Readable sessions whose --owner-field names another owner: id → what it names. */
  readonly others = new Map<string, string>()
  /** Sessions that could not be read, or with nothing at --owner-field. */
  readonly unsure = new Set<string>()

  disagrees(sid: string, owner: string): void {
    this.others.set(sid, owner)
  }

  unconfirmed(sid: string): void {
    this.unsure.add(sid)
  }

  get count(): number {
    return this.others.size + this.unsure.size
  }

  /**
   * One message for the user, or undefined when every indexed session was confirmed.
   * `unreadable`: the ids whose stored values could not be read; `cannotRead` says why.
   */
  describe(
    owner: string,
    field: string,
    what: string,
    unreadable: ReadonlySet<string>,
    cannotRead: string,
  ): string | undefined {
    if (this.count === 0) return undefined
    const unread = [...this.unsure].filter((sid) => unreadable.has(sid)).length
    const parts: string[] = []
    if (this.others.size > 0) {
      const named = [...this.others].slice(0, NAMED).map(([sid, other]) => {
        return `${sid}: ${JSON.stringify(other)}`
      })
      const more = this.others.size > NAMED ? ", ..." : ""
      parts.push(
        `${this.others.size} naming another owner at --owner-field ${field} (${named.join(", ")}${more})`,
      )
    }
    const ownerless = this.unsure.size - unread
    if (ownerless > 0) parts.push(`${ownerless} with no owner at --owner-field ${field}`)
    if (unread > 0) parts.push(`${unread} ${cannotRead}`)
    const hint =
      this.others.size > 0
        ? " Is --owner-field the field the app's owner option reads? The index was not changed on its word."
        : " Their index entries are kept."
    return `${this.count} indexed session(s) of ${owner} ${what}, not confirmed as theirs: ${parts.join(", ")}.${hint}\n`
  }
}
