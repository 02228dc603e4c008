// The admin command line driven as a user drives it: a separate process, its arguments, its
// stdin, and what it prints and exits with, against a real server (clusters: cli-cluster.test.ts).

import {type AddressInfo, createServer, type Socket} from "node:net"
import {Readable, Writable} from "node:stream"
import type {SessionData} from "express-session"
import {createClient} from "redis"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {main} from "../src/cli/admin-cli.js"
import {encryptedSerializer, type RedisClientLike, RedisStore} from "../src/index.js"
import {CLIENT_PACKAGES} from "../src/redis/cli-connection.js"
import {cli, owner, userSession} from "./support/cli.js"
import {RestartableServer} from "./support/outages.js"
import {type RedisServer, startRedisServer} from "./support/redis-servers.js"
import {asStored, uniquePrefix} from "./support/sessions.js"

/** A stream that keeps what is written to it. */
class Collect extends Writable {
  text = ""
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.text += chunk.toString()
    done()
  }
}

describe("the admin command line", () => {
  let server: RedisServer
  let client: ReturnType<typeof createClient>

  beforeAll(async () => {
    server = await startRedisServer()
    client = createClient({url: server.url})
    await client.connect()
  })
  afterAll(async () => {
    client?.destroy()
    await server?.stop()
  })

  /** A store as the app has it, with sessions of users 1 and 2 and a neighbour's key. */
  async function seeded(count = 6) {
    const prefix = uniquePrefix("cli")
    const store = new RedisStore({client: client as unknown as RedisClientLike, prefix, owner})
    const sids = Array.from({length: count}, (_, i) => `s${i}`)
    await Promise.all(sids.map((sid, i) => store.set(sid, userSession(i % 2 === 0 ? 1 : 2))))
    await server.command("SET", `other:${prefix}keep`, "not ours")
    const base = ["--url", server.url, "--prefix", prefix]
    return {store, prefix, sids, base}
  }

  it("no command: a usage error, with the usage on stderr", async () => {
    const {code, stdout, stderr} = await cli([])
    expect(code).toBe(2)
    expect(stdout).toBe("")
    expect(stderr).toMatch(/^error: a command is needed\n\nUsage: redis-session-store <command>/)
  })

  it("--help prints the usage, commands and exit codes", async () => {
    for (const args of [["--help"], ["-h"]]) {
      const {code, stdout} = await cli(args)
      expect(code).toBe(0)
      expect(stdout).toMatch(/^Usage: redis-session-store <command>/)
      for (const command of [
        "count",
        "list",
        "show",
        "revoke",
        "sessions",
        "revoke-owner",
        "clear",
      ]) {
        expect(stdout).toContain(`\n  ${command} `)
      }
      expect(stdout).toContain("Exit codes: 0 done; 1 not done")
    }
  })

  it.each([
    [["bogus"], /Unknown command "bogus"/],
    [["show"], /show needs one argument/],
    [["count", "extra"], /Too many arguments for count/],
    [["revoke-owner", "7"], /revoke-owner needs --owner-field/],
    [["sessions", "7"], /sessions needs --owner-field/],
    [["revoke", "s1", "--except", "s2"], /--except goes with revoke-owner only/],
    [
      ["revoke-owner", "7", "--owner-field", "user.id", "--except", ""],
      /--except needs a session id/,
    ],
    [["count", "--bogus"], /Unknown option '--bogus'/],
    [["count", "--scan-count", "abc"], /--scan-count must be a positive integer, not "abc"/],
    [["count", "--scan-count", "1.5"], /--scan-count must be a positive integer, not "1.5"/],
    [["count", "--url", "notaurl"], /--url must be a redis:\/\/ or rediss:\/\/ URL, not "notaurl"/],
    [["count", "--url", "redis//:pw@host"], /not "redis\/\/:\*\*\*@host"/],
    [["count", "--client", "redis4"], /--client must be one of redis, ioredis, iovalkey/],
    [["count", "--url", "http://:pw@localhost"], /--url must be a redis:\/\/ or rediss:\/\/ URL/],
  ])("bad usage %j: a clear message and exit 2", async (args, message) => {
    const {code, stderr, stdout} = await cli(["--url", server.url, ...args])
    expect(stderr).toMatch(message)
    expect(stderr).not.toContain("pw@")
    expect(stderr).toContain("Usage: redis-session-store")
    expect(code).toBe(2)
    expect(stdout).toBe("")
  })

  it.each(CLIENT_PACKAGES)(
    "unreachable Redis (--client %s): exit 3 at once, and the password is never printed",
    async (client) => {
      const {code, stderr} = await cli(["count", "--client", client], {
        env: {REDIS_URL: "redis://:s3cret-Pa55@127.0.0.1:1"},
      })
      expect(code).toBe(3)
      expect(stderr).toMatch(/cannot reach redis:\/\/:\*\*\*@127\.0\.0\.1:1.*ECONNREFUSED/)
      expect(stderr).not.toContain("s3cret")
    },
  )

  it.each(["ioredis", "iovalkey"])(
    "--client %s: an app without node-redis counts, lists, revokes and clears the same",
    async (package_) => {
      const {store, sids, base} = await seeded()
      const args = [...base, "--client", package_]
      expect(await cli(["count", ...args])).toMatchObject({code: 0, stdout: "6\n"})
      const list = await cli(["list", "--quiet", ...args])
      expect(list.stdout.trim().split("\n").sort()).toEqual(sids)
      expect(
        JSON.parse((await cli(["show", "s1", "--json", ...args])).stdout).session.user.id,
      ).toBe(2)
      const revoked = await cli(["revoke-owner", "1", "--owner-field", "user.id", ...args])
      expect(revoked).toMatchObject({code: 0, stdout: "revoked 3 session(s) of 1\n"})
      expect(await store.sessionsOf(1)).toEqual([])
      expect(await cli(["revoke", "s1", ...args])).toMatchObject({code: 0, stdout: "revoked s1\n"})
      expect(await store.get("s1")).toBeNull()
      expect(await cli(["clear", "--yes", ...args])).toMatchObject({
        code: 0,
        stdout: "cleared 2 session(s)\n",
      })
      expect(await store.length()).toBe(0)
    },
  )

  it("count and list: the sessions under the prefix, with progress on stderr; --json for scripts", async () => {
    const {store, sids, base} = await seeded()
    await store.destroy("s0")
    const count = await cli(["count", ...base])
    expect(count).toMatchObject({code: 0, stdout: "5\n"})
    expect(count.stderr).toMatch(/^counted 5 sessions in \d+\.\d s \([\d,]+\/s\), done\n$/)
    expect(JSON.parse((await cli(["count", "--json", ...base])).stdout)).toEqual({count: 5})

    const list = await cli(["list", ...base])
    expect(list.code).toBe(0)
    expect(list.stdout.trim().split("\n").sort()).toEqual(sids.slice(1))
    const lines = (await cli(["list", "--json", "--quiet", ...base])).stdout.trim().split("\n")
    expect(lines.map((line) => JSON.parse(line).id).sort()).toEqual(sids.slice(1))
    const quiet = await cli(["count", "--quiet", ...base])
    expect(quiet.stderr).toBe("")
    // From REDIS_URL when there is no --url.
    const fromEnv = await cli(["count", "--prefix", base[3] as string], {
      env: {REDIS_URL: server.url},
    })
    expect(fromEnv.stdout).toBe("5\n")
  })

  it("show: one session as JSON, exit 1 when there is none", async () => {
    const {store, base} = await seeded()
    const shown = await cli(["show", "s1", ...base])
    expect(shown.code).toBe(0)
    expect(JSON.parse(shown.stdout)).toEqual(asStored((await store.get("s1")) as SessionData))
    const json = JSON.parse((await cli(["show", "s1", "--json", ...base])).stdout)
    expect(json.id).toBe("s1")
    expect(json.session.user.id).toBe(2)
    const missing = await cli(["show", "nope", ...base])
    expect(missing.code).toBe(1)
    expect(missing.stdout).toBe("")
    expect(missing.stderr).toContain('No session "nope"')
  })

  it("revoke: ends one session for good, whether or not it existed", async () => {
    const {store, base} = await seeded()
    const revoked = await cli(["revoke", "s1", "--json", ...base])
    expect(revoked.code).toBe(0)
    expect(JSON.parse(revoked.stdout)).toEqual({id: "s1", revoked: true})
    expect(await store.get("s1")).toBeNull()
    await store.set("s1", userSession(2)) // a request still in flight saves it
    expect(await store.get("s1")).toBeNull()
    expect(await store.get("s2")).not.toBeNull()
    const again = await cli(["revoke", "s1", ...base])
    expect(again).toMatchObject({code: 0, stdout: "no session s1; it stays dead anyway\n"})
  })

  it("revoke-owner: ends one owner's sessions, the others stay", async () => {
    const {store, base} = await seeded()
    const done = await cli(["revoke-owner", "1", "--owner-field", "user.id", "--json", ...base])
    expect(done.code).toBe(0)
    expect(JSON.parse(done.stdout)).toEqual({
      owner: "1",
      revoked: 3,
      unconfirmed: [],
      otherOwner: {},
    })
    expect(await store.sessionsOf(1)).toEqual([])
    expect((await store.sessionsOf(2)).map((session) => session.id).sort()).toEqual([
      "s1",
      "s3",
      "s5",
    ])
  })

  it("sessions: one owner's sessions with their times; revoke-owner --except keeps the ones named", async () => {
    const {store, base} = await seeded()
    const before = Date.now()
    await store.touch("s2", userSession(1))
    const listed = await cli(["sessions", "1", "--owner-field", "user.id", "--json", ...base])
    expect(listed.code).toBe(0)
    const rows = listed.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line))
    expect(rows.map((row) => row.id).sort()).toEqual(["s0", "s2", "s4"])
    for (const row of rows) expect(row.createdAt).toBeLessThanOrEqual(row.lastSeenAt)
    expect(rows.find((row) => row.id === "s2").lastSeenAt).toBeGreaterThanOrEqual(before)
    const text = await cli(["sessions", "1", "--owner-field", "user.id", ...base])
    expect(text.stdout).toMatch(/^s\d {2}created \d{4}-\d\d-\d\dT.*Z {2}last seen \d{4}-.*Z$/m)
    expect(text.stderr).toContain("3 live session(s) of 1")

    // A mistyped --except would end the session meant to stay: nothing is revoked.
    const typo = await cli([
      "revoke-owner",
      "1",
      "--owner-field",
      "user.id",
      "--except",
      "s9",
      ...base,
    ])
    expect(typo.code).toBe(1)
    expect(typo.stderr).toContain("--except s9: not a live session of 1; nothing was revoked")
    expect((await store.sessionsOf(1)).length).toBe(3)

    const kept = await cli([
      "revoke-owner",
      "1",
      "--owner-field",
      "user.id",
      "--except",
      "s2",
      "--json",
      ...base,
    ])
    expect(kept.code).toBe(0)
    expect(JSON.parse(kept.stdout)).toEqual({
      owner: "1",
      revoked: 2,
      unconfirmed: [],
      otherOwner: {},
    })
    expect((await store.sessionsOf(1)).map((owned) => owned.id)).toEqual(["s2"])
    expect(await store.get("s0")).toBeNull()
    expect((await store.sessionsOf(2)).length).toBe(3)
  })

  it("clear without --yes and no terminal to ask on: refuses at once, even on an open pipe", async () => {
    const {store, base} = await seeded()
    for (const stdin of ["", "yes\n"]) {
      const refused = await cli(["clear", ...base], {stdin, keepStdinOpen: true})
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain("with no terminal to ask on, give --yes")
      expect(await store.length()).toBe(6)
    }
    const forced = await cli(["clear", "--yes", "--json", ...base])
    expect(JSON.parse(forced.stdout)).toEqual({cleared: 6})
    expect(forced.stderr).not.toContain("Type yes")
    expect(await store.get("s0")).toBeNull()
  })

  it("clear at a terminal: asks first; anything but yes (or y) changes nothing; y ends every session", async () => {
    const {store, prefix, base} = await seeded()
    const answer = (text: string) => {
      const stdin = Readable.from([text]) as Readable & {isTTY?: boolean}
      stdin.isTTY = true
      return stdin
    }
    for (const text of ["", "no\n", "yess\n", "Y\n", "yes\n"]) {
      const [stdout, stderr] = [new Collect(), new Collect()]
      const code = await main(["clear", ...base], {
        stdin: answer(text),
        stdout,
        stderr,
        env: {},
      })
      expect(stderr.text).toContain(`End every session under prefix "${prefix}"`)
      if (text === "Y\n" || text === "yes\n") {
        expect(code).toBe(0)
        expect(stdout.text).toBe(`cleared ${text === "Y\n" ? 6 : 0} session(s)\n`)
        expect(await store.length()).toBe(0)
      } else {
        expect(code).toBe(1)
        expect(stderr.text).toContain("Not confirmed: nothing was cleared.")
        expect(await store.length()).toBe(6)
      }
    }
    expect(await server.command("GET", `other:${prefix}keep`)).toBe("not ours")
  })

  it("revoke-owner with a mistyped --owner-field: exit 1, nothing ended, the index kept", async () => {
    const {store, prefix, base} = await seeded()
    const typo = await cli(["revoke-owner", "1", "--owner-field", "user.Id", ...base])
    expect(typo.code).toBe(1)
    expect(typo.stdout).toBe("revoked 0 session(s) of 1\n")
    expect(typo.stderr).toContain(
      "3 indexed session(s) of 1 were left alive, not confirmed as theirs: 3 with no owner at --owner-field user.Id",
    )
    expect(await server.command("ZCARD", `owners:${prefix}1`)).toBe(3)
    expect((await store.sessionsOf(1)).map((session) => session.id).sort()).toEqual([
      "s0",
      "s2",
      "s4",
    ])
    const right = await cli(["revoke-owner", "1", "--owner-field", "user.id", ...base])
    expect(right).toMatchObject({code: 0, stdout: "revoked 3 session(s) of 1\n"})
  })

  it("a wrong --owner-field that exists (user.name for user.id): sessions and revoke-owner keep the whole index and say so; the right one then ends every session", async () => {
    const {store, prefix, base} = await seeded()
    // An entry whose session is gone: a listing leaves even that alone (it never writes).
    await server.command("DEL", `${prefix}s4`)
    const index = async () => [
      await server.command("ZRANGE", `owners:${prefix}1`, "0", "-1", "WITHSCORES"),
      await server.command("ZRANGE", `owners-seen:${prefix}1`, "0", "-1", "WITHSCORES"),
    ]
    const before = await index()
    expect(before[0]).toHaveLength(6)

    const listed = await cli(["sessions", "1", "--owner-field", "user.name", ...base])
    expect(listed.code).toBe(1)
    expect(listed.stdout).toBe("")
    expect(listed.stderr).toContain(
      '2 indexed session(s) of 1 were not listed, not confirmed as theirs: 2 naming another owner at --owner-field user.name (s0: "user 1", s2: "user 1")',
    )
    expect(listed.stderr).toContain("Is --owner-field the field the app's owner option reads?")
    expect(await index()).toEqual(before)

    const wrong = await cli(["revoke-owner", "1", "--owner-field", "user.name", "--json", ...base])
    expect(wrong.code).toBe(1)
    expect(JSON.parse(wrong.stdout)).toEqual({
      owner: "1",
      revoked: 0,
      unconfirmed: [],
      otherOwner: {s0: "user 1", s2: "user 1"},
    })
    // Only the entry of the session that is gone went.
    expect(await server.command("ZCARD", `owners:${prefix}1`)).toBe(2)
    expect(await store.get("s0")).not.toBeNull()

    const right = await cli(["revoke-owner", "1", "--owner-field", "user.id", ...base])
    expect(right).toMatchObject({code: 0, stdout: "revoked 2 session(s) of 1\n", stderr: ""})
    expect(await store.get("s0")).toBeNull()
    expect(await store.get("s2")).toBeNull()
    expect(await store.get("s1")).not.toBeNull()
  })

  it("an app that encrypts: without its secret nothing is lost and every command says so; with --secret-env it works", async () => {
    const secret = "an encryption secret of 32+ chars"
    const prefix = uniquePrefix("enc")
    const store = new RedisStore({
      client: client as unknown as RedisClientLike,
      prefix,
      owner,
      serializer: encryptedSerializer({secrets: [secret]}),
    })
    for (const sid of ["a", "b", "c"]) await store.set(sid, userSession(7))
    const base = ["--url", server.url, "--prefix", prefix]
    expect((await cli(["count", "--quiet", ...base])).stdout).toBe("3\n")
    const list = await cli(["list", "--quiet", ...base])
    expect(list.stdout.trim().split("\n").sort()).toEqual([
      "a (unreadable)",
      "b (unreadable)",
      "c (unreadable)",
    ])
    expect(list.stderr).toContain("3 stored value(s) cannot be read (encrypted? give --secret-env")
    expect(list.stderr).not.toContain("RedisStoreWarning")
    const shown = await cli(["show", "a", ...base])
    expect(shown.code).toBe(1)
    expect(shown.stderr).toContain(
      'Session "a" is there but cannot be read (encrypted? give --secret-env)',
    )
    const blind = await cli(["revoke-owner", "7", "--owner-field", "user.id", ...base])
    expect(blind.code).toBe(1)
    expect(blind.stderr).toContain("3 stored value(s) cannot be read")
    expect(await server.command("ZCARD", `owners:${prefix}7`)).toBe(3)

    const env = {APP_SESSION_KEY: secret}
    const keyed = [...base, "--secret-env", "APP_SESSION_KEY"]
    const readable = await cli(["list", "--quiet", ...keyed], {env})
    expect(readable.stdout.trim().split("\n").sort()).toEqual(["a", "b", "c"])
    expect(
      JSON.parse((await cli(["show", "a", "--json", ...keyed], {env})).stdout).session.user.id,
    ).toBe(7)
    const revoked = await cli(["revoke-owner", "7", "--owner-field", "user.id", ...keyed], {env})
    expect(revoked).toMatchObject({code: 0, stdout: "revoked 3 session(s) of 7\n"})
    expect(await store.get("a")).toBeNull()
    const unset = await cli(["count", ...base, "--secret-env", "NOT_SET_ANYWHERE"])
    expect(unset.code).toBe(2)
    expect(unset.stderr).toContain(
      "--secret-env NOT_SET_ANYWHERE: that environment variable is not set",
    )
  })

  /** `count` against a server on a free port that is not Redis, run as `handle` says. */
  async function countAgainst(package_: string, handle: (socket: Socket) => void) {
    const fake = createServer(handle)
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve))
    const {port} = fake.address() as AddressInfo
    try {
      const url = `redis://127.0.0.1:${port}`
      return {url, ...(await cli(["count", "--client", package_, "--url", url]))}
    } finally {
      fake.close()
    }
  }

  it.each(CLIENT_PACKAGES)(
    "--client %s: a server that accepts connections and never answers: exit 3, no hang",
    async (package_) => {
      const outcome = await countAgainst(package_, () => {})
      expect(outcome.code).toBe(3)
      expect(outcome.stderr).toMatch(/cannot reach .*no answer within 5 s/)
    },
  )

  it.each(CLIENT_PACKAGES)(
    "--client %s: a server answering in HTML instead of Redis: exit 3, saying it is not a Redis server",
    async (package_) => {
      // Whatever it is sent, it answers a page (as some HTTP servers and proxies do).
      const outcome = await countAgainst(package_, (socket) => {
        socket.on("data", () => socket.write("<html><body>Not Found</body></html>\r\n"))
        socket.on("error", () => {})
      })
      expect(outcome.code).toBe(3)
      expect(outcome.stderr).toContain(
        `${outcome.url} answered, but it is not a Redis server (an HTTP port?)`,
      )
    },
  )

  it("a stopped server (SIGSTOP): exit 3, no hang", async () => {
    const stopped = await RestartableServer.start()
    stopped.pause()
    try {
      const outcome = await cli(["count", "--url", stopped.url])
      expect(outcome.code).toBe(3)
    } finally {
      await stopped.stop()
    }
  })
})
