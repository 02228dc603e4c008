// The same app as CommonJS (require through the package's "require" types): node-redis.
import session = require("express-session")
import redis = require("redis")
import sessionStore = require("redis-session-store")

const client = redis.createClient()
const store = new sessionStore.RedisStore(client, {prefix: "cjs:", disableTouch: false})
export const middleware = session({
  store,
  secret: "y".repeat(32),
  resave: false,
  saveUninitialized: false,
})
export function isOutage(error: unknown): boolean {
  return sessionStore.isRedisUnavailableError(error)
}
