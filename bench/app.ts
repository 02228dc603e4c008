// The app of the end-to-end case, one process per store: Express + express-session, or
// Fastify + @fastify/session (store name ending in "@fastify").
// argv: store ("ours" | "ours-overwrite" | "connect-redis" | "connect-redis-11" |
// "ours-redundant", each optionally with "@fastify"), then one Redis URL (several for
// "ours-redundant": one client per server). Tells the parent its port over IPC.

import type {AddressInfo} from "node:net"
import {resolve} from "node:path"
import {pathToFileURL} from "node:url"
import {RedisStore as ConnectRedisStore} from "connect-redis"
import {RedisStore as ConnectRedis11Store} from "connect-redis11"
import express from "express"
import session, {type Store} from "express-session"
import {createClient} from "redis"

declare module "express-session" {
  interface SessionData {
    user?: {id: number; name: string}
    views?: number
  }
}

async function main() {
  // The built package, as users run it (npm run bench builds it first); typed by the sources.
  const [argument = "", ...urls] = process.argv.slice(2)
  const [storeName, framework] = argument.split("@")
  // "ours-b": another build of the package (DIST_B: the path of its dist/index.js), for A/B
  // runs of two versions side by side (bench/app-cpu.ts); the rest run this checkout's dist/.
  const built =
    storeName === "ours-b" && process.env.DIST_B !== undefined
      ? pathToFileURL(resolve(process.env.DIST_B)).href
      : new URL("../dist/index.js", import.meta.url).href
  const {RedisStore} = (await import(built)) as typeof import("../src/index.js")
  if (urls.length === 0)
    throw new Error(
      "usage: app.ts <ours|ours-overwrite|connect-redis|ours-redundant> <redis url>...",
    )
  const clients = await Promise.all(
    urls.map(async (url) => {
      const client = createClient({url})
      client.on("error", (error) => console.error(error.message))
      await client.connect()
      return client
    }),
  )
  const [client] = clients
  if (client === undefined) throw new Error("no client")
  const prefix = `e2e:${storeName}:`
  const store: Store =
    storeName === "ours-redundant"
      ? new RedisStore({clients, prefix})
      : storeName === "ours" || storeName === "ours-b"
        ? new RedisStore({client, prefix})
        : storeName === "ours-overwrite"
          ? new RedisStore({client, prefix, concurrentWrites: "overwrite"})
          : storeName === "connect-redis-11"
            ? new ConnectRedis11Store({client, prefix})
            : new ConnectRedisStore({client, prefix})
  if (framework === "fastify") return listen(await fastifyApp(store), clients)

  const app = express()
  app.use(
    session({
      store,
      secret: "benchmark secret",
      resave: false,
      saveUninitialized: false,
      cookie: {maxAge: 86_400_000},
    }),
  )
  app.post("/login", (req, res) => {
    req.session.user = {id: 42, name: "Ada Lovelace"}
    req.session.views = 0
    res.json({ok: true})
  })
  // Unchanged session: express-session calls store.touch. During an outage our store says
  // "disconnect" and express-session leaves req.session undefined: answer without the user.
  app.get("/read", (req, res) => {
    res.json({user: req.session?.user ?? null})
  })
  // Changed session: express-session calls store.set.
  app.post("/write", (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1
    res.json({views: req.session.views})
  })
  // Section 10: overlapping requests of one user, each adding a field of its own.
  app.post("/add/:n", (req, res) => {
    ;(req.session as unknown as Record<string, unknown>)[`field${req.params.n}`] = true
    res.json({ok: true})
  })
  app.get("/fields", (req, res) => {
    res.json({count: Object.keys(req.session).filter((key) => key.startsWith("field")).length})
  })
  const server = app.listen(0, "127.0.0.1", () => {
    process.send?.({port: (server.address() as AddressInfo).port})
  })
  listen({close: () => server.close()}, clients)
}

/** The same routes under @fastify/session with its defaults (rolling: a save every request). */
async function fastifyApp(store: Store) {
  const [{default: Fastify}, {default: cookie}, {default: fastifySession}] = await Promise.all([
    import("fastify"),
    import("@fastify/cookie"),
    import("@fastify/session"),
  ])
  const app = Fastify()
  await app.register(cookie)
  await app.register(fastifySession, {
    store: store as never,
    secret: "a benchmark secret of at least 32 characters",
    saveUninitialized: false,
    // Plain HTTP on loopback: a secure cookie would never come back.
    cookie: {secure: false, maxAge: 86_400_000},
  })
  app.post("/login", async (request) => {
    request.session.set("user", {id: 42, name: "Ada Lovelace"})
    request.session.set("views", 0)
    return {ok: true}
  })
  app.get("/read", async (request) => ({user: request.session?.get("user") ?? null}))
  app.post("/write", async (request) => {
    const views = ((request.session.get("views") as number | undefined) ?? 0) + 1
    request.session.set("views", views)
    return {views}
  })
  const address = await app.listen({port: 0, host: "127.0.0.1"})
  process.send?.({port: Number(new URL(address).port)})
  return {close: () => void app.close()}
}

let profiler: import("node:inspector").Session | undefined

/** "start" starts the CPU profiler; anything else is the file the profile is written to. */
async function profile(command: string): Promise<void> {
  const inspector = await import("node:inspector")
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      profiler?.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    )
  if (command === "start") {
    profiler = new inspector.Session()
    profiler.connect()
    await post("Profiler.enable")
    await post("Profiler.start")
    return
  }
  const {profile: taken} = (await post("Profiler.stop")) as {profile: unknown}
  const {writeFile} = await import("node:fs/promises")
  await writeFile(command, JSON.stringify(taken))
  profiler?.disconnect()
}

/** Closes the server and the clients when the parent says "exit". */
function listen(server: {close(): void}, clients: {destroy(): void}[]) {
  process.on("message", (message) => {
    // bench/profile.ts: a CPU profile of a stretch of load only (not start-up or warm-up).
    if (typeof message === "object" && message !== null && "profile" in message) {
      void profile(message.profile as "start" | string).then(() => process.send?.({profiled: true}))
    }
    // The app's own CPU time so far (µs), for the cost of a request in the app.
    if (message === "cpu") {
      const {user, system} = process.cpuUsage()
      process.send?.({cpu: user + system})
    }
    if (message === "exit") {
      server.close()
      for (const each of clients) each.destroy()
      process.exit(0)
    }
  })
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
