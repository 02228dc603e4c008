// The store's calls over many sessions (clear, length, ids, all) and over one owner's
// (sessionsOf, revokeOwner): each traced while someone listens to the diagnostics channels.
// RedisStore's methods document them and sort out their arguments (a callback, or options).

import type {SessionData} from "express-session"
import type {BulkSessions, Progress} from "../bulk/bulk.js"
import {observed} from "../diagnostics/trace.js"
import type {OwnedSession, OwnerIndex, RevokeOptions} from "../owners/owner-index.js"

/** A session as `all()` returns it: the stored data with its id. */
export type SessionWithId = SessionData & {id: string}

export class AdminCalls {
  readonly #prefix: string
  readonly #bulk: BulkSessions
  /** The per-owner index, with option `owner`. */
  readonly #owners: OwnerIndex | undefined

  constructor(prefix: string, bulk: BulkSessions, owners: OwnerIndex | undefined) {
    this.#prefix = prefix
    this.#bulk = bulk
    this.#owners = owners
  }

  clear(progress: Progress | undefined): Promise<void> {
    return observed("clear", this.#prefix, async (trace) => {
      if (trace === undefined) return this.#bulk.clear(progress)
      trace.count = 0
      await this.#bulk.clear((done) => {
        trace.count = done
        progress?.(done)
      })
    })
  }

  length(progress: Progress | undefined): Promise<number> {
    return observed("length", this.#prefix, () => this.#bulk.length(progress), countOf)
  }

  entries(): AsyncGenerator<[string, SessionData]> {
    return this.#bulk.entries()
  }

  ids(): Promise<string[]> {
    return observed("ids", this.#prefix, () => this.#bulk.ids(), lengthOf)
  }

  all(): Promise<SessionWithId[]> {
    return observed("all", this.#prefix, () => this.#bulk.all(), lengthOf)
  }

  sessionsOf(owner: string | number): Promise<OwnedSession[]> {
    const listing = async () => this.#ownerIndex("sessionsOf").sessionsOf(owner)
    return observed("sessionsOf", this.#prefix, listing, lengthOf)
  }

  revokeOwner(owner: string | number, options: RevokeOptions | undefined): Promise<number> {
    const revoking = async () => {
      const index = this.#ownerIndex("revokeOwner")
      const {revoked, unconfirmed} = await index.revoke(owner, options?.except)
      if (unconfirmed.length > 0) options?.unconfirmed?.(unconfirmed)
      return revoked
    }
    return observed("revokeOwner", this.#prefix, revoking, countOf)
  }

  #ownerIndex(method: string): OwnerIndex {
    if (this.#owners === undefined) {
      throw new TypeError(`store.${method}() needs the option owner (who owns a session)`)
    }
    return this.#owners
  }
}

function countOf(value: number): number {
  return value
}

function lengthOf(value: readonly unknown[]): number {
  return value.length
}
