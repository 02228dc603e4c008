// Watches what clients send to one server, through MONITOR on a connection of its own.
//
// Why MONITOR and not the slow log: the servers disagree on whom a script's own commands
// belong to. Redis 7 logs them in SLOWLOG under the address "?:0"; Valkey 8 logs them under
// the calling client's address, so they cannot be told from the client's own commands.
// MONITOR marks them the same way on both ("[0 lua]"), and shows commands in the order the
// server ran them.

import {createConnection, type Socket} from "node:net"
import type {RedisServer} from "./redis-servers.js"

/** One command a client sent: its arguments and the address it came from. */
export interface SeenCommand {
  readonly args: string[]
  readonly from: string
}

const FIRST_REPLY_TIMEOUT_MS = 20_000

export class CommandMonitor {
  readonly #lines: string[] = []
  #partial = ""
  #waiting: {marker: string; resolve: () => void} | undefined

  private constructor(
    private readonly server: RedisServer,
    private readonly socket: Socket,
  ) {
    socket.on("data", (chunk: Buffer) => this.#take(chunk.toString("latin1")))
    // A server stopped while watched: stop() fails on its marker command instead.
    socket.on("error", () => {})
  }

  /** Resolves once the server said +OK to MONITOR: every command after that is seen. */
  static start(server: RedisServer): Promise<CommandMonitor> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({host: server.host, port: server.port})
      socket.setTimeout(FIRST_REPLY_TIMEOUT_MS, () =>
        socket.destroy(new Error(`MONITOR on port ${server.port} did not answer`)),
      )
      socket.once("error", reject)
      socket.once("connect", () => socket.write("*1\r\n$7\r\nMONITOR\r\n"))
      socket.once("data", (chunk: Buffer) => {
        const first = chunk.toString("latin1")
        if (!first.startsWith("+OK\r\n")) {
          socket.destroy()
          reject(new Error(`MONITOR on port ${server.port} answered ${JSON.stringify(first)}`))
          return
        }
        socket.setTimeout(0)
        const monitor = new CommandMonitor(server, socket)
        monitor.#take(first.slice("+OK\r\n".length))
        resolve(monitor)
      })
    })
  }

  /**
   * Stops watching and returns what the server ran, oldest first: what clients sent, and
   * what scripts ran (`from` is "lua" for those). The marker this sends to learn that
   * everything before it has been seen is left out.
   */
  async stop(): Promise<SeenCommand[]> {
    const marker = `command-monitor-${process.pid}-${Math.random().toString(36).slice(2)}`
    // Set before the marker is sent, so only lines that arrive from now on can hold it.
    const seen = new Promise<void>((resolve) => {
      this.#waiting = {marker, resolve}
    })
    await this.server.command("ECHO", marker)
    await seen
    this.socket.destroy()
    const commands: SeenCommand[] = []
    for (const line of this.#lines) {
      const parsed = parseMonitorLine(line)
      if (!parsed) continue
      if (parsed.args[0]?.toUpperCase() === "ECHO" && parsed.args[1] === marker) break
      commands.push(parsed)
    }
    return commands
  }

  #take(text: string): void {
    const lines = (this.#partial + text).split("\r\n")
    this.#partial = lines.pop() ?? ""
    const waiting = this.#waiting
    for (const line of lines) {
      if (!line.startsWith("+")) continue
      this.#lines.push(line.slice(1))
      if (waiting !== undefined && line.includes(waiting.marker)) waiting.resolve()
    }
  }
}

/**
 * `1700000000.123456 [0 127.0.0.1:51234] "GET" "sess:a"`: the database and address in
 * brackets ("lua" for a script's commands), then each argument quoted, with backslash
 * escapes for quotes, backslashes, control characters and other bytes (\xHH).
 */
export function parseMonitorLine(line: string): SeenCommand | undefined {
  const match = /^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/s.exec(line)
  if (!match) return undefined
  const from = match[1] as string
  const rest = match[2] as string
  const args: string[] = []
  let at = 0
  while (at < rest.length) {
    if (rest[at] === " ") {
      at++
      continue
    }
    if (rest[at] !== '"') return undefined
    at++
    let bytes = ""
    while (at < rest.length && rest[at] !== '"') {
      if (rest[at] !== "\\") {
        bytes += rest[at]
        at++
        continue
      }
      const escaped = rest[at + 1] ?? ""
      if (escaped === "x") {
        bytes += String.fromCharCode(Number.parseInt(rest.slice(at + 2, at + 4), 16))
        at += 4
        continue
      }
      bytes += ESCAPES[escaped] ?? escaped
      at += 2
    }
    at++
    // The line came as latin1 (one char per byte): turn the bytes back into UTF-8 text.
    args.push(Buffer.from(bytes, "latin1").toString("utf8"))
  }
  return {args, from}
}

const ESCAPES: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  a: "\x07",
  b: "\b",
}
