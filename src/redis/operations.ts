// The store's operations (SessionClient) over one client family's commands (FamilyCommands):
// which command each operation is, with tombstones on or off, is decided here and only here.

import type {TombstonePolicy} from "../store/tombstone-policy.js"
import {
  READ_SESSION_WITH_TTL,
  REPAIR_SESSION,
  RETIME_SESSION,
  TOMBSTONE_ON_NODE,
  TOMBSTONE_SESSIONS,
  WRITE_IF_UNCHANGED,
} from "./scripts.js"
import {type FamilyCommands, type SessionClient, TOMBSTONED} from "./types.js"

export function withOperations(
  commands: FamilyCommands,
  tombstones: TombstonePolicy,
): SessionClient {
  const {on} = tombstones
  return {
    // The family's own function, not a wrapper: no extra step on every request.
    read: commands.get,
    // GETEX leaves a tombstone as it is, with or without the tombstone policy.
    readRenewing: commands.getRenewing,
    async readWithLife(key, trace) {
      const reply = await commands.runScript(READ_SESSION_WITH_TTL, [key], [])
      if (reply === 0 && trace !== undefined) trace.outcome = "logged-out"
      if (!Array.isArray(reply)) return null
      return {value: String(reply[0]), ttlMs: Number(reply[1])}
    },
    readMany: commands.mget,
    // With tombstones, SET ... GET: a destroyed session stays dead (a refusal, not an error).
    write: (key, value, ttlMs, trace) => commands.set(key, value, ttlMs, on, trace),
    // Not async functions, and no `then` of their own: a merged save and a touch run these on
    // every request, so the script's reply is read by a `finish` in the bound's own step.
    writeIfUnchanged(key, expected, value, ttlMs, trace) {
      const ttl = ttlMs === undefined ? "" : `${ttlMs}`
      const args = [expected, value, ttl, on ? "1" : "0"]
      if (trace === undefined) return commands.runScript(WRITE_IF_UNCHANGED, [key], args, heldValue)
      return commands.runScript(WRITE_IF_UNCHANGED, [key], args, (reply) => {
        // 0: a tombstone refused it.
        if (reply === 0 || reply === TOMBSTONED) trace.outcome = "logged-out"
        return heldValue(reply)
      })
    },
    // With tombstones, a script that re-times strings only (GETEX would send the session
    // back) and GETDEL: they leave a tombstone as it is, quietly.
    retime: on
      ? (key, ttlMs, trace) => {
          if (ttlMs <= 0) return commands.getDel(key, trace)
          const args = [`${ttlMs}`]
          if (trace === undefined) return commands.runScript(RETIME_SESSION, [key], args, nothing)
          return commands.runScript(RETIME_SESSION, [key], args, (reply) => {
            if (reply === 1) return
            trace.outcome = reply === -1 || reply === TOMBSTONED ? "logged-out" : "missing"
          })
        }
      : (key, ttlMs, trace) =>
          ttlMs <= 0 ? commands.del(key) : commands.pExpire(key, ttlMs, trace),
    end: on
      ? (key) => commands.runScript(TOMBSTONE_SESSIONS, [key], tombstones.args(), nothing)
      : (key) => commands.del(key),
    endMany: on
      ? (keys, source) =>
          commands.runScriptPerSlot(
            TOMBSTONE_SESSIONS,
            keys,
            tombstones.args(),
            source,
            TOMBSTONE_ON_NODE,
          )
      : (keys, source) => commands.unlink(keys, source),
    async repair(key, value, ttlMs) {
      await commands.runScript(REPAIR_SESSION, [key], [value, `${ttlMs}`])
    },
    runScript: commands.runScript,
    scan: commands.scan,
    ping: commands.ping,
    release: commands.release,
    isReady: commands.isReady,
    isClosed: commands.isClosed,
    watch: commands.watch,
  }
}

/** WRITE_IF_UNCHANGED's reply: the value held now when it was another, else null. */
function heldValue(reply: unknown): string | null {
  return typeof reply === "string" ? reply : null
}

function nothing(): void {}
