// Reads and writes Redis directly over RESP, never through the code under test, so a test
// can check what really is in Redis. On a cluster it asks the master that owns the key.

import type {RedisServer, Reply} from "./redis-servers.js"

export class RawRedis {
  constructor(readonly masters: readonly RedisServer[]) {}

  /** Runs a single-key command on the master that owns `key`. */
  async onKey(key: string, ...args: (string | number)[]): Promise<Reply> {
    let lastMoved: Reply = null
    for (const master of this.masters) {
      const reply = await master.command(...args)
      if (reply instanceof Error && reply.message.startsWith("MOVED")) {
        lastMoved = reply
        continue
      }
      if (reply instanceof Error) throw reply
      return reply
    }
    throw new Error(`No master owns ${key}: ${String(lastMoved)}`)
  }

  get(key: string): Promise<Reply> {
    return this.onKey(key, "GET", key)
  }

  set(key: string, value: string, ...options: (string | number)[]): Promise<Reply> {
    return this.onKey(key, "SET", key, value, ...options)
  }

  async ttl(key: string): Promise<number> {
    return Number(await this.onKey(key, "TTL", key))
  }

  /** Milliseconds the key has left (-1: no expiry, -2: no key). */
  async pttl(key: string): Promise<number> {
    return Number(await this.onKey(key, "PTTL", key))
  }

  /** The Redis type at `key`: "string" for a session, "hash" for a tombstone, "none". */
  async type(key: string): Promise<string> {
    return String(await this.onKey(key, "TYPE", key))
  }

  async exists(key: string): Promise<boolean> {
    return Number(await this.onKey(key, "EXISTS", key)) === 1
  }

  /** Every key matching a glob, over all masters (KEYS is fine on test data). */
  async keys(pattern: string): Promise<string[]> {
    const replies = await Promise.all(this.masters.map((master) => master.command("KEYS", pattern)))
    return replies.flatMap((reply) => (Array.isArray(reply) ? reply.map(String) : [])).sort()
  }

  /** Calls of each command since the last reset, summed over all masters. */
  async commandCalls(): Promise<Map<string, number>> {
    const calls = new Map<string, number>()
    for (const master of this.masters) {
      const info = String(await master.command("INFO", "commandstats"))
      for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        const name = match[1] as string
        calls.set(name, (calls.get(name) ?? 0) + Number(match[2]))
      }
    }
    return calls
  }

  /**
   * The names of the commands a client sent for keys under `prefix` while `run` ran, in
   * order (what a script runs inside is not counted: that is still one round trip).
   */
  async commandsFor(prefix: string, run: () => Promise<unknown>): Promise<string[]> {
    await this.recordCommands()
    await run()
    return (await this.recordedCommands())
      .filter((args) => args.some((arg) => arg.startsWith(prefix)))
      .map((args) => String(args[0]).toUpperCase())
  }

  /** Makes every master forget its cached Lua scripts, as a restart does. */
  async flushScripts(): Promise<void> {
    await Promise.all(this.masters.map((master) => master.command("SCRIPT", "FLUSH")))
  }

  async resetStats(): Promise<void> {
    await Promise.all(this.masters.map((master) => master.command("CONFIG", "RESETSTAT")))
  }

  /** Records every command from now on in the slow log, so a test can read their arguments. */
  async recordCommands(): Promise<void> {
    await Promise.all(
      this.masters.map(async (master) => {
        await master.command("CONFIG", "SET", "slowlog-max-len", 100_000)
        await master.command("CONFIG", "SET", "slowlog-log-slower-than", 0)
        await master.command("SLOWLOG", "RESET")
      }),
    )
  }

  /**
   * The commands clients sent since recordCommands(), as argument lists, on every master,
   * oldest first. Commands a Lua script ran are left out: the slow log lists them too, with
   * the client address "?:0"; so are a sentinel's and a replica's own.
   */
  async recordedCommands(): Promise<string[][]> {
    const commands: string[][] = []
    for (const master of this.masters) {
      const log = await master.command("SLOWLOG", "GET", -1)
      for (const entry of Array.isArray(log) ? [...log].reverse() : []) {
        const args = Array.isArray(entry) ? entry[3] : undefined
        const fromScript = Array.isArray(entry) && entry[4] === "?:0"
        // A sentinel's own connections (named sentinel-...) and a replica's REPLCONF are the
        // servers' housekeeping, not a client's command.
        const fromSentinel = Array.isArray(entry) && String(entry[5] ?? "").startsWith("sentinel-")
        const fromReplica = Array.isArray(args) && String(args[0]).toUpperCase() === "REPLCONF"
        if (Array.isArray(args) && !fromScript && !fromSentinel && !fromReplica) {
          commands.push(args.map(String))
        }
      }
      await master.command("CONFIG", "SET", "slowlog-log-slower-than", 10_000)
    }
    return commands
  }
}
