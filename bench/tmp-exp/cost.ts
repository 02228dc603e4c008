import {createHash} from "node:crypto"
import * as redis from "redis"
import {startRedisServer} from "../../test/support/redis-servers.js"

const server = await startRedisServer()
const c = redis.createClient({url: server.url})
await c.connect()
const value = JSON.stringify({
  cookie: {originalMaxAge: 86400000, expires: new Date().toISOString(), httpOnly: true, path: "/"},
  user: {id: 1, name: "Ada"},
  notes: "n".repeat(900),
})
const value2 = value.replace("Ada", "Bob")
const sha1 = (s: string) => createHash("sha1").update(s).digest("hex")
const scripts: Record<string, string> = {
  floor: "return 1",
  setOnly: "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1",
  current: `local held = redis.pcall('GET', KEYS[1])
if type(held) == 'table' then
  if ARGV[4] == '1' then return 0 end
elseif held and held ~= ARGV[1] then
  return held
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1`,
  digest: `local held = redis.pcall('GET', KEYS[1])
if type(held) == 'table' then
  if ARGV[4] == '1' then return 0 end
elseif held and redis.sha1hex(held) ~= ARGV[1] then
  return held
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`,
  setget: `local held = redis.pcall('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'GET')
if type(held) == 'table' then return 0 end
if held and held ~= ARGV[1] then redis.call('SET', KEYS[1], held, 'KEEPTTL') return held end
return 1`,
}
const N = 20000
for (let round = 0; round < 3; round++) {
  for (const [name, src] of Object.entries(scripts)) {
    const sha = await c.scriptLoad(src)
    const keys = Array.from({length: N}, (_, i) => `k${name}${i}`)
    await Promise.all(keys.map((k) => c.set(k, value)))
    await c.sendCommand(["CONFIG", "RESETSTAT"])
    const base = name === "digest" ? sha1(value) : value
    await Promise.all(
      keys.map((k) => c.evalSha(sha, {keys: [k], arguments: [base, value2, "86400000", "1"]})),
    )
    const info = (await c.sendCommand(["INFO", "commandstats"])) as string
    const m = /cmdstat_evalsha:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(info)
    await c.sendCommand(["CONFIG", "RESETSTAT"])
    await Promise.all(keys.map((k) => c.set(k, value2, {PX: 86400000, GET: true} as never)))
    const info2 = (await c.sendCommand(["INFO", "commandstats"])) as string
    const m2 = /cmdstat_set:calls=\d+,usec=\d+,usec_per_call=([\d.]+)/.exec(info2)
    console.log(round, name.padEnd(8), m?.[1], "SET..GET", m2?.[1])
  }
}
await c.quit()
await server.stop()
