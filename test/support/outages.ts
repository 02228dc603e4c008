// A redis-server the tests can take away and bring back: killed (SIGKILL), stalled
// (SIGSTOP: it keeps its connections but answers nothing) and restarted on the same port
// with the data it had (append-only file, fsync on every write).

import {type ChildProcess, spawn} from "node:child_process"
import {mkdtemp, rm} from "node:fs/promises"
import {tmpdir} from "node:os"
import {join} from "node:path"
import {
  freePort,
  HOST,
  joinCluster,
  type RedisServer,
  type Reply,
  SERVER_PROGRAM,
  sendCommand,
  startRedisServer,
  waitUntil,
} from "./redis-servers.js"

export class RestartableServer {
  #child: ChildProcess | undefined
  #exited: Promise<unknown> = Promise.resolve()

  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  static async start(): Promise<RestartableServer> {
    const dir = await mkdtemp(join(tmpdir(), "redis-session-store-outage-"))
    const server = new RestartableServer(await freePort(), dir)
    await server.restart()
    return server
  }

  get url(): string {
    return `redis://${HOST}:${this.port}`
  }

  command(...args: (string | number)[]): Promise<Reply> {
    return sendCommand(this.port, args.map(String))
  }

  /**
   * Starts the process (again) on the same port and directory; resolves once it answers.
   * `loading`: it loads its data slowly (a pause per key) and answers meanwhile (LOADING),
   * as a big instance does after a restart; resolves once it answers that.
   */
  async restart(options: {loading?: boolean} = {}): Promise<void> {
    const slowly = options.loading
      ? [
          ...["--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024"],
          // DEBUG RELOAD: a reload in place, the client's connection kept.
          ...["--enable-debug-command", "yes"],
        ]
      : []
    const child = spawn(
      SERVER_PROGRAM,
      [
        ...["--port", String(this.port), "--bind", HOST, "--dir", this.dir],
        ...["--save", "", "--appendonly", "yes", "--appendfsync", "always"],
        ...["--protected-mode", "no", ...slowly],
      ],
      {cwd: this.dir, stdio: "ignore"},
    )
    this.#child = child
    this.#exited = new Promise((resolve) => child.once("exit", resolve))
    await waitUntil(`redis-server on port ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`)
      const reply = await this.command("PING")
      if (options.loading) return reply instanceof Error && reply.message.startsWith("LOADING")
      return reply === "PONG"
    })
  }

  /** Whatever a test did to it (stalled, killed), it serves again: resumed, or restarted. */
  async serveAgain(): Promise<void> {
    this.resume()
    if ((await this.command("PING").catch(() => null)) !== "PONG") await this.restart()
  }

  /** kill -9: the connections drop at once, nothing is flushed that was not already. */
  async kill(): Promise<void> {
    this.#child?.kill("SIGKILL")
    await this.#exited
  }

  /** SIGSTOP: connections stay open, nothing is answered until resume(). */
  pause(): void {
    this.#child?.kill("SIGSTOP")
  }

  resume(): void {
    this.#child?.kill("SIGCONT")
  }

  async stop(): Promise<void> {
    this.resume()
    await this.kill()
    await rm(this.dir, {recursive: true, force: true})
  }
}

/** Milliseconds `work` took to settle, and how: its value or its error. */
export async function timed<T>(
  work: Promise<T>,
): Promise<{ms: number; value?: T; error?: unknown}> {
  const started = performance.now()
  try {
    const value = await work
    return {ms: performance.now() - started, value}
  } catch (error) {
    return {ms: performance.now() - started, error}
  }
}

export interface FailoverCluster {
  readonly masters: RedisServer[]
  readonly replicas: RedisServer[]
  readonly rootNodes: {url: string}[]
  /** Every node still running. */
  live(): RedisServer[]
  /** kill -9 a master, then waits until its replica took its slots and the cluster is ok. */
  killMaster(index: number): Promise<RedisServer>
  stop(): Promise<void>
}

/** Three masters with a replica each; a dead master's replica takes over within seconds. */
export async function startFailoverCluster(): Promise<FailoverCluster> {
  const clusterArgs = async () => [
    ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
    ...["--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0"],
    ...["--repl-diskless-sync-delay", "0"],
    // The bus port defaults to port + 10000, which may be taken or out of range.
    ...["--cluster-port", String(await freePort())],
  ]
  const nodes = await Promise.all(
    Array.from({length: 6}, () => startRedisServer({args: clusterArgs})),
  )
  const masters = nodes.slice(0, 3)
  const replicas = nodes.slice(3)
  const dead = new Set<RedisServer>()
  const live = () => nodes.filter((node) => !dead.has(node))
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()))
  }
  const clusterOk = async (expectedNodes: RedisServer[]) => {
    for (const node of expectedNodes) {
      const info = String(await node.command("CLUSTER", "INFO"))
      if (!info.includes("cluster_state:ok")) return false
      const slots = await node.command("CLUSTER", "SLOTS")
      if (!Array.isArray(slots) || slots.length !== 3) return false
      // Each range served by a live master, and that master's replica known where expected.
      for (const range of slots) {
        const master = Array.isArray(range) ? range[2] : undefined
        const port = Array.isArray(master) ? Number(master[1]) : Number.NaN
        if (!expectedNodes.some((live) => live.port === port)) return false
      }
    }
    return true
  }
  try {
    await Promise.all(
      masters.map(async (node, i) => {
        const reply = await node.command(
          "CLUSTER",
          "ADDSLOTSRANGE",
          i * 5462,
          Math.min(16383, (i + 1) * 5462 - 1),
        )
        if (reply !== "OK") throw new Error(`ADDSLOTSRANGE: ${String(reply)}`)
      }),
    )
    await joinCluster(nodes)
    await Promise.all(
      replicas.map(async (replica, i) => {
        const masterId = String(await (masters[i] as RedisServer).command("CLUSTER", "MYID"))
        await waitUntil("the replica to accept its master", async () => {
          return (await replica.command("CLUSTER", "REPLICATE", masterId)) === "OK"
        })
      }),
    )
    await waitUntil("replicas in sync and the cluster ok", async () => {
      for (const replica of replicas) {
        const info = String(await replica.command("INFO", "replication"))
        if (!info.includes("master_link_status:up")) return false
      }
      return clusterOk(nodes)
    })
  } catch (error) {
    await stop()
    throw error
  }
  return {
    masters,
    replicas,
    rootNodes: nodes.map((node) => ({url: node.url})),
    live,
    async killMaster(index) {
      const master = masters[index] as RedisServer
      const replica = replicas[index] as RedisServer
      await replicaCaughtUp(master, replica)
      process.kill(master.pid, "SIGKILL")
      dead.add(master)
      await waitUntil(
        "the replica to be promoted and the cluster ok",
        async () =>
          String(await replica.command("INFO", "replication")).includes("role:master") &&
          clusterOk(live()),
        30_000,
      )
      return replica
    },
    stop,
  }
}

/** Waits until `replica` has all `master` wrote, as an operator's failover test would. */
export async function replicaCaughtUp(master: RedisServer, replica: RedisServer): Promise<void> {
  await waitUntil("the replica to catch up", async () => {
    const masterInfo = String(await master.command("INFO", "replication"))
    const offset = /master_repl_offset:(\d+)/.exec(masterInfo)?.[1]
    const replicaInfo = String(await replica.command("INFO", "replication"))
    return offset !== undefined && replicaInfo.includes(`slave_repl_offset:${offset}`)
  })
}
