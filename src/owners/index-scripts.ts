// The per-owner index's scripts (option `owner`). Each owner has two keys in one hash slot:
//
// - the index: a sorted set of the owner's session ids, scored by when each expires (Unix
//   ms, +inf for none). An id evicted by maxSessionsPerOwner stays in it for a while with a
//   negative score, minus the time until which it is refused: a request of that session
//   still in flight cannot bring it back before (or after) its tombstone lands.
// - the "seen" set: the same ids scored by when each was last written or touched, which
//   says which session is the least recently seen.
//
// Both are sorted sets, so SCAN ... TYPE string never lists them as sessions. Pruning keeps
// them small: an entry goes when its session's expiry passes, a refusal when its time is up.

import {luaScript} from "../redis/scripts.js"

/**
 * Drops expired entries and refusals whose time is over (scores in (-now, now)), from both
 * keys; then `keepAlive()` gives both the life of the longest session or refusal.
 */
const PRUNE_AND_KEEP_ALIVE = `local function prune(now)
  local dropped = redis.call('ZRANGEBYSCORE', KEYS[1], '(-' .. now, '(' .. now)
  if #dropped > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[1], '(-' .. now, '(' .. now)
    for _, id in ipairs(dropped) do redis.call('ZREM', KEYS[2], id) end
  end
end
local function keepAlive()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2]
  if not last then return end
  if last == 'inf' then
    redis.call('PERSIST', KEYS[1])
    redis.call('PERSIST', KEYS[2])
    return
  end
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
  if tonumber(first) < 0 and -tonumber(first) > tonumber(last) then last = string.sub(first, 2) end
  redis.call('PEXPIREAT', KEYS[1], last)
  redis.call('PEXPIREAT', KEYS[2], last)
end
`

/**
 * Adds (or re-times) a session in its owner's index, and decides the per-owner limit in the
 * same atomic step: two logins at once are decided one after the other.
 * KEYS[1]: the owner's index
 * KEYS[2]: the owner's "seen" set
 * ARGV[1]: the session id
 * ARGV[2]: when it expires (Unix ms), or +inf
 * ARGV[3]: now (Unix ms)
 * ARGV[4]: the most live sessions the owner may have ('0': no limit)
 * ARGV[5]: over the limit: 'revokeOldest' or 'refuse'
 * ARGV[6]: until when an evicted id is refused (Unix ms)
 * Reply:   {'ok'}; {'revoked'} when the id was evicted (nothing changed); {'refused'} (nothing
 *          changed); or {'evicted', id...}: the ids taken out to make room, to be ended
 */
export const INDEX_SESSION = luaScript(
  "index-session",
  `${PRUNE_AND_KEEP_ALIVE}prune(ARGV[3])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) < 0 then return {'revoked'} end
local reply = {'ok'}
local limit = tonumber(ARGV[4])
if not score and limit > 0 and redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf') >= limit then
  if ARGV[5] == 'refuse' then return {'refused'} end
  local live = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf')
  local seen = {}
  for _, id in ipairs(live) do seen[id] = tonumber(redis.call('ZSCORE', KEYS[2], id) or '0') end
  table.sort(live, function(a, b) return seen[a] < seen[b] end)
  reply = {'evicted'}
  for i = 1, #live - limit + 1 do
    redis.call('ZADD', KEYS[1], '-' .. ARGV[6], live[i])
    redis.call('ZREM', KEYS[2], live[i])
    reply[#reply + 1] = live[i]
  end
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
keepAlive()
return reply`,
)

/**
 * One page of an owner's index (ZSCAN: every entry present for the whole walk is seen), each
 * entry with when it was last seen. The first page prunes, unless told to only read.
 * KEYS[1], KEYS[2]: the owner's index and "seen" set
 * ARGV[1]: the cursor ("0" to start)
 * ARGV[2]: the COUNT hint
 * ARGV[3]: now (Unix ms)
 * ARGV[4]: 'prune', or 'read' (a listing that must change nothing)
 * Reply:   {next cursor, {id, expiry score, last seen ('' when not known), ...}}
 */
export const INDEX_PAGE = luaScript(
  "index-page",
  `${PRUNE_AND_KEEP_ALIVE}if ARGV[1] == '0' and ARGV[4] == 'prune' then prune(ARGV[3]) end
local page = redis.call('ZSCAN', KEYS[1], ARGV[1], 'COUNT', ARGV[2])
local entries = {}
for i = 1, #page[2], 2 do
  entries[#entries + 1] = page[2][i]
  entries[#entries + 1] = page[2][i + 1]
  entries[#entries + 1] = redis.call('ZSCORE', KEYS[2], page[2][i]) or ''
end
return {page[1], entries}`,
)

/**
 * Removes session ids from an owner's index and "seen" set (one ZREM each: no
 * argument-count limit).
 * KEYS[1], KEYS[2]: the owner's index and "seen" set
 * ARGV:    the session ids
 * Reply:   how many were in the index
 */
export const UNINDEX_SESSIONS = luaScript(
  "unindex-sessions",
  `local removed = 0
for _, id in ipairs(ARGV) do
  removed = removed + redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
end
return removed`,
)
