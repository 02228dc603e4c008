// What the admin command line prints and asks: progress, the confirmation before clear,
// URLs without their password, and reading an owner from a session by a dotted path.

import {createInterface} from "node:readline/promises"

/** Asks on stderr, reads one line from stdin: only "yes" (or "y") goes on. */
export async function confirmed(
  io: {stdin: NodeJS.ReadableStream; stderr: NodeJS.WritableStream},
  prefix: string,
  url: string,
): Promise<boolean> {
  const prompt = createInterface({input: io.stdin, output: io.stderr, terminal: false})
  try {
    io.stderr.write(
      `End every session under prefix ${JSON.stringify(prefix)} on ${safeUrl(url)}? Type yes to go on: `,
    )
    const answer = await new Promise<string | undefined>((resolve) => {
      prompt.once("line", resolve)
      prompt.once("close", () => resolve(undefined))
    })
    // Piped answers are not echoed: end the prompt's line so the next message starts fresh.
    if (!(io.stdin as {isTTY?: boolean}).isTTY) io.stderr.write("\n")
    const said = answer?.trim().toLowerCase()
    return said === "yes" || said === "y"
  } finally {
    prompt.close()
  }
}

/** "counted 12,000 sessions (8,000/s)" on stderr, at most once a second, and once at the end. */
export class ProgressLine {
  readonly #started = performance.now()
  #lastShown = performance.now()

  constructor(
    private readonly stderr: NodeJS.WritableStream,
    private readonly quiet: boolean,
  ) {}

  tick(verb: string, done: number): void {
    const now = performance.now()
    if (this.quiet || now - this.#lastShown < 1000) return
    this.#lastShown = now
    this.stderr.write(`${verb} ${this.#describe(done, now)}\n`)
  }

  end(verb: string, done: number): void {
    if (!this.quiet) this.stderr.write(`${verb} ${this.#describe(done, performance.now())}, done\n`)
  }

  #describe(done: number, now: number): string {
    const seconds = Math.max((now - this.#started) / 1000, 0.001)
    const rate = Math.round(done / seconds)
    return `${done.toLocaleString("en-US")} sessions in ${seconds.toFixed(1)} s (${rate.toLocaleString("en-US")}/s)`
  }
}

/** The owner named at a dotted path of the session (`user.id`), as the app's option reads it. */
export function fieldReader(path: string) {
  const steps = path.split(".")
  return (session: object) =>
    steps.reduce<unknown>(
      (value, step) =>
        typeof value === "object" && value !== null
          ? (value as Record<string, unknown>)[step]
          : undefined,
      session,
    ) as string | number | undefined
}

export function isRedisUrl(url: string): boolean {
  try {
    return ["redis:", "rediss:"].includes(new URL(url).protocol)
  } catch {
    return false
  }
}

/** The URL without its password, for messages. */
export function safeUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = "***"
    return parsed.toString()
  } catch {
    // Not a URL, but it may still hold a password between "//" and "@".
    return url.replace(/(\/\/[^/@]*?:)[^/@]*@/, "$1***@")
  }
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
