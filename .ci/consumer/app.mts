// A TypeScript app as users write one (ESM): express-session, node-redis, the store's
// options, events, error guards and its own methods, under strict settings with
// skipLibCheck off, so every published declaration is checked too.
import express from "express"
import session from "express-session"
import {createClient} from "redis"
import {
  isRedisUnavailableError,
  type OwnedSession,
  RedisStore,
  type RedisStoreOptions,
} from "redis-session-store"

declare module "express-session" {
  interface SessionData {
    userId: string
  }
}

const client = createClient({url: process.env.REDIS_URL ?? "redis://localhost:6379"})
client.connect().catch((error: unknown) => console.error(error))
const options: RedisStoreOptions = {prefix: "app:", ttl: 3600, owner: (data) => data.userId}
const store = new RedisStore(client, options)
store.on("disconnect", (reason) => console.warn("sessions unavailable:", reason))

const app = express()
app.use(session({store, secret: "x".repeat(32), resave: false, saveUninitialized: false}))
app.get("/me", (req, res) => {
  res.json({user: req.session.userId ?? null})
})
app.use(
  (error: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (isRedisUnavailableError(error)) res.status(503).end()
    else next(error)
  },
)

export async function devicesOf(user: string): Promise<string[]> {
  const sessions: OwnedSession[] = await store.sessionsOf(user)
  return sessions.map((entry) => entry.id)
}
