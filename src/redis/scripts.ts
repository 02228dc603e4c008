// The Lua scripts behind "logout is final". Each touches only the keys it is given, and a
// caller gives it keys of one hash slot, so every script is cluster-safe without hash tags.
//
// A tombstone is a small hash at the session's own key. Being of another Redis type than a
// session (a string) is what lets the rest of the store tell them apart for free: GET on it
// answers WRONGTYPE (read as "no session"); SET ... GET, GETEX and GETDEL refuse to act on
// it (WRONGTYPE, nothing changed), so a late `set` or `touch` needs no script; and
// SCAN ... TYPE string never lists it. Only making a tombstone takes a script.
//
// Scripts are sent by SHA1 (EVALSHA); a server that does not know one yet (NOSCRIPT, after a
// restart or on a new cluster node) is sent the source once (EVAL), which also caches it.

import {createHash} from "node:crypto"
import {isNoScript} from "../errors.js"

/** A Lua script with its SHA1, as EVALSHA wants it. */
export interface LuaScript {
  readonly name: string
  readonly source: string
  readonly sha: string
}

export function luaScript(name: string, source: string): LuaScript {
  return {name, source, sha: createHash("sha1").update(source).digest("hex")}
}

/** The Redis type of a tombstone; anything but a string at a session's key is left alone. */
export const TOMBSTONE_TYPE = "hash"
/** The tombstone's one field: when the session was destroyed (Unix milliseconds). */
export const TOMBSTONE_FIELD = "destroyedAt"

/**
 * Replaces each session with a tombstone that lives ARGV[1] seconds (an existing tombstone
 * is renewed: a second logout counts from now). Every key must be in the same hash slot. A
 * key of another type that is not ours (a list, a hash without our field) is left alone.
 * KEYS[1..n]: the sessions' keys
 * ARGV[1]:    seconds the tombstones live
 * ARGV[2]:    when the sessions were destroyed (Unix milliseconds)
 * Reply:      how many keys now hold a tombstone
 */
export const TOMBSTONE_SESSIONS = luaScript(
  "tombstone-sessions",
  tombstoneLoop("for _, key in ipairs(KEYS) do"),
)

/** The tombstone loop, over the keys `header` names (KEYS, or ARGV from 3 on one node). */
function tombstoneLoop(header: string): string {
  return `local placed = 0
${header}
  local kind = redis.call('TYPE', key).ok
  if kind == 'string' then redis.call('DEL', key) end
  if kind == 'string' or kind == 'none'
    or (kind == '${TOMBSTONE_TYPE}' and redis.call('HEXISTS', key, '${TOMBSTONE_FIELD}') == 1) then
    redis.call('HSET', key, '${TOMBSTONE_FIELD}', ARGV[2])
    redis.call('EXPIRE', key, ARGV[1])
    placed = placed + 1
  end
end
return placed`
}

/**
 * Reads a session with the milliseconds it has left, for `touchAfter`.
 * KEYS[1]: the session's key
 * Reply:   {value, milliseconds left or -1 for no expiry}; nil when there is no session, 0
 *          when a tombstone (or any other type) is there
 */
export const READ_SESSION_WITH_TTL = luaScript(
  "read-session-with-ttl",
  `local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'none' then return false end
if kind ~= 'string' then return 0 end
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}`,
)

/**
 * Re-times a session without sending it back (GETEX would answer with the whole value):
 * PEXPIRE, but only over a string, so a tombstone is never lengthened.
 * KEYS[1]: the session's key
 * ARGV[1]: milliseconds it lives from now (> 0)
 * Reply:   1 re-timed, 0 no key, -1 a tombstone (or any other type) left as it is
 */
export const RETIME_SESSION = luaScript(
  "retime-session",
  `local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then return redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if kind == 'none' then return 0 end
return -1`,
)

/**
 * Writes a session only if Redis still holds what the request loaded (concurrentWrites
 * "merge"): one atomic step, so a save that would undo another request's change is
 * stopped and handed what is there now, to merge with and try again. A key with no value
 * (expired, or deleted without a tombstone) is written as given.
 *
 * One command from Lua in the common case: SET ... GET writes and hands back what was there
 * (each call from a script costs about as much as the rest of the script: measured on Redis
 * 7.0, GET then SET 8.9 µs, SET ... GET 7.4 µs, for SET ... GET sent alone 2.4 µs). When
 * that was another value, it is put back at once (nobody can see the key in between); it
 * keeps the life just given, which the merged write that follows sets again.
 * KEYS[1]: the session's key
 * ARGV[1]: the value the request loaded
 * ARGV[2]: the value to write
 * ARGV[3]: milliseconds it lives, or '' for no expiry
 * ARGV[4]: '1' when a tombstone (any key of another type) refuses the write, quietly
 * Reply:   1 written, 0 refused by a tombstone, or the value held now when it is not ARGV[1]
 */
export const WRITE_IF_UNCHANGED = luaScript(
  "write-if-unchanged",
  `local held
if ARGV[3] == '' then
  held = redis.pcall('SET', KEYS[1], ARGV[2], 'GET')
else
  held = redis.pcall('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'GET')
end
if type(held) == 'table' then
  -- WRONGTYPE: another type (a tombstone) is there, and SET ... GET changed nothing.
  if ARGV[4] == '1' then return 0 end
  -- Tombstones off: a plain SET replaces a key of any type, as the store's other writes do.
  if ARGV[3] == '' then
    redis.call('SET', KEYS[1], ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  end
  return 1
end
if held and held ~= ARGV[1] then
  redis.call('SET', KEYS[1], held, 'KEEPTTL')
  return held
end
return 1`,
)

/** How redundant mode marks a value with its write stamp: `rss1|<stamp>|<value>`. */
export const STAMP_PATTERN = "^rss1|(%d+)|"

/**
 * Redundant mode: copies a newer session onto a server that lacks it or holds an older one
 * (it came back empty or stale). Never overwrites a newer value, a tombstone or a key of
 * another type.
 * KEYS[1]: the session's key
 * ARGV[1]: the stamped value
 * ARGV[2]: milliseconds it has left, or -1 for no expiry
 * Reply:   1 when written, 0 when left alone
 */
export const REPAIR_SESSION = luaScript(
  "repair-session",
  `local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'string' then
  local held = tonumber(string.match(redis.call('GET', KEYS[1]), '${STAMP_PATTERN}')) or 0
  local ours = tonumber(string.match(ARGV[1], '${STAMP_PATTERN}')) or 0
  if held >= ours then return 0 end
elseif kind ~= 'none' then
  return 0
end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1`,
)

/** Runs a script by SHA1, and by source when the server does not have it yet. */
export function runScript<T>(
  script: LuaScript,
  bySha: (sha: string) => Promise<T>,
  bySource: (source: string) => Promise<T>,
): Promise<T> {
  return bySha(script.sha).catch((error: unknown) => {
    if (isNoScript(error)) return bySource(script.source)
    throw error
  })
}

// Cluster bulk work in one command per batch. A SCAN batch comes from one master, but its keys
// fall in as many slots as keys, so a command per slot is a command per key. Redis 7 lets a
// script flagged allow-cross-slot-keys reach keys of many slots held by the node it runs on;
// declared KEYS must still share a slot, so these scripts take their keys in ARGV. One
// command per batch (at most scanCount keys). A server before Redis 7 cannot compile the flag
// line, and a key whose slot moved is an error (non local key) before or instead of a reply:
// both go back to one command per slot, and every script here may safely run again.

/**
 * TOMBSTONE_SESSIONS over keys of many slots of the node it runs on.
 * ARGV[1], ARGV[2]: as for TOMBSTONE_SESSIONS
 * ARGV[3..]:        the sessions' keys
 */
export const TOMBSTONE_ON_NODE = luaScript(
  "tombstone-on-node",
  `#!lua flags=allow-cross-slot-keys
${tombstoneLoop("for i = 3, #ARGV do\n  local key = ARGV[i]")}`,
)

/**
 * MGET over keys of many slots of the node it runs on: each key's value, nil for anything but
 * a string. A key this node does not serve is an error (never a silent nil). One pcall'd GET
 * a key, not TYPE then GET: half the calls from Lua, which is most of the script's cost.
 * ARGV:  the keys
 * Reply: the values, in the order of ARGV
 */
export const READ_ON_NODE = luaScript(
  "read-on-node",
  `#!lua flags=no-writes,allow-cross-slot-keys
local values = {}
for i, key in ipairs(ARGV) do
  local value = redis.pcall('GET', key)
  if type(value) == 'table' and value.err then
    if string.sub(value.err, 1, 9) ~= 'WRONGTYPE' then return value end
    value = false
  end
  values[i] = value
end
return values`,
)
