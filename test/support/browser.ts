// A browser with one cookie, over real HTTP: enough to log in and out of a test app.

/** How the session id sits in the signed cookie: express-session and @fastify/session differ. */
export type CookieFormat = "express-session" | "fastify"

export class Browser {
  cookie: string | undefined

  constructor(
    readonly base: string,
    readonly format: CookieFormat = "express-session",
  ) {}

  async request(method: "GET" | "POST", path: string) {
    const response = await fetch(this.base + path, {
      method,
      headers: this.cookie ? {cookie: this.cookie} : {},
    })
    const setCookie = response.headers.getSetCookie().find((c) => c.startsWith("sid="))
    if (setCookie) this.cookie = setCookie.split(";")[0]
    return {status: response.status, body: (await response.json()) as Record<string, unknown>}
  }

  /** The session id inside the signed cookie: `sid=s:<id>.<signature>` or `sid=<id>.<signature>`. */
  get sid(): string {
    const value = decodeURIComponent((this.cookie ?? "").slice("sid=".length))
    const id = value.slice(0, value.lastIndexOf("."))
    return this.format === "express-session" ? id.slice("s:".length) : id
  }
}
