// A small Express app on RedisStore: log in, count, log out, and see how many sessions live.
// Stop Redis while it runs: pages still load (without a session, and saying so), and
// everything works again once Redis is back, without restarting the app.
//
//   npm run demo                      # starts a throwaway redis-server for itself
//   REDIS_URL=redis://host:6379 npm run demo
//   PORT=8080 npm run demo

import express, {type NextFunction, type Request, type Response} from "express"
import session from "express-session"
import {createClient} from "redis"
import {RedisStore} from "../src/index.js"
import {type RedisServer, startRedisServer} from "../test/support/redis-servers.js"

declare module "express-session" {
  interface SessionData {
    name?: string
    count?: number
  }
}

async function main() {
  let throwaway: RedisServer | undefined
  let url = process.env.REDIS_URL
  if (!url) {
    throwaway = await startRedisServer()
    url = throwaway.url
    console.log(`REDIS_URL is not set: started a throwaway redis-server at ${url}`)
  }

  const client = createClient({url})
  client.on("error", (error) => console.error("Redis client error:", error.message))
  await client.connect()

  const store = new RedisStore({client, prefix: "demo:sess:", ttl: 3600})
  store.on("corrupt", (error) => console.warn(error.message))
  // express-session skips the store between these two: requests go on without req.session.
  store.on("disconnect", (reason) => console.warn("Sessions unavailable:", String(reason)))
  store.on("connect", () => console.log("Sessions available again"))

  const app = express()
  app.use(express.urlencoded({extended: false}))
  app.use(
    session({
      store,
      secret: process.env.SESSION_SECRET ?? "demo secret: set SESSION_SECRET in real apps",
      resave: false,
      saveUninitialized: false,
      rolling: true,
      cookie: {maxAge: 30 * 60 * 1000, sameSite: "lax"},
    }),
  )

  app.get("/", async (req, res) => {
    // The count is an admin figure. Without req.session the store said Redis is away: do not
    // wait for it (a call would take up to `timeout`); if it fails anyway, say so.
    const live = req.session ? await store.length().catch(() => undefined) : undefined
    res.type("html").send(page(req.session, live))
  })
  app.post(["/login", "/count", "/logout"], needsSession)
  app.post("/login", (req, res, next) => {
    const name =
      String(req.body?.name ?? "")
        .trim()
        .slice(0, 40) || "guest"
    // A new session id on login, so a session fixed before login is worthless.
    req.session.regenerate((error) => {
      if (error) return next(error)
      req.session.name = name
      req.session.count = 0
      res.redirect("/")
    })
  })
  app.post("/count", (req, res) => {
    if (req.session.name) req.session.count = (req.session.count ?? 0) + 1
    res.redirect("/")
  })
  app.post("/logout", (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.redirect("/")))
  })

  const port = Number(process.env.PORT ?? 3000)
  const http = app.listen(port, () => {
    console.log(`Demo on http://localhost:${port} (Ctrl+C to stop)`)
  })

  const shutdown = async () => {
    http.close()
    await client.close()
    await throwaway?.stop()
    process.exit(0)
  }
  process.once("SIGINT", shutdown)
  process.once("SIGTERM", shutdown)
}

/** During an outage express-session gives no req.session: say so instead of failing. */
function needsSession(req: Request, res: Response, next: NextFunction) {
  if (req.session) return next()
  res.status(503).type("html").send(page(undefined, undefined))
}

function page(session: Request["session"] | undefined, live: number | undefined): string {
  const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
  const name = session?.name
  const count = session?.count ?? 0
  const body = !session
    ? `<p id="outage"><b>Sessions are unavailable right now</b> (Redis cannot be reached).
       You can keep browsing; logging in works again as soon as Redis is back.</p>`
    : name
      ? `<p>Logged in as <b>${escapeHtml(name)}</b>. Counter: <b id="count">${count}</b></p>
       <form method="post" action="/count"><button>Count +1</button></form>
       <form method="post" action="/logout"><button>Log out</button></form>`
      : `<form method="post" action="/login">
         <input name="name" placeholder="Your name" autofocus> <button>Log in</button>
       </form>`
  return `<!doctype html><meta charset="utf-8"><title>redis-session-store demo</title>
    <h1>redis-session-store demo</h1>${body}
    <p>Live sessions in Redis: <b id="live">${live ?? "unknown"}</b></p>`
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
