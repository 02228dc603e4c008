// A small app under express-session, as the HTTP tests use it: log in, read, count. Tests
// add routes of their own to what this returns.

import type {AddressInfo} from "node:net"
import express from "express"
import session, {type Store} from "express-session"

export const MAX_AGE_MS = 60_000

export function expressApp(store: Store, options: {rolling?: boolean} = {}) {
  const app = express()
  app.use(
    session({
      store,
      name: "sid",
      secret: "a test secret",
      resave: false,
      saveUninitialized: false,
      rolling: options.rolling ?? false,
      cookie: {maxAge: MAX_AGE_MS},
    }),
  )
  app.post("/login", (req, res) => {
    req.session.user = {id: 1, name: "Ada"}
    res.json({ok: true})
  })
  app.get("/me", (req, res) => {
    res.json({user: req.session.user ?? null, views: req.session.views ?? 0})
  })
  app.post("/count", (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1
    res.json({views: req.session.views})
  })
  return app
}

/** Serves `app` on a free port of 127.0.0.1. */
export async function listen(app: ReturnType<typeof express>) {
  const http = app.listen(0, "127.0.0.1")
  await new Promise((resolve) => http.once("listening", resolve))
  return {http, base: `http://127.0.0.1:${(http.address() as AddressInfo).port}`}
}
