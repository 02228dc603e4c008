// A small app under @fastify/session, over real HTTP: log in, read, count, log out.

import fastifyCookie from "@fastify/cookie"
import fastifySession from "@fastify/session"
import Fastify, {type FastifyInstance} from "fastify"
import type {RedisStore} from "../../src/index.js"

declare module "fastify" {
  interface Session {
    user?: {id: number; name: string}
    views?: number
  }
}

const MAX_AGE_MS = 60_000

export async function startFastifyApp(
  store: RedisStore,
  moreRoutes: (app: FastifyInstance) => void = () => {},
): Promise<{app: FastifyInstance; base: string}> {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    store,
    cookieName: "sid",
    secret: "a test secret that is at least 32 characters long",
    saveUninitialized: false,
    // Plain HTTP in the test: a secure cookie would never be sent.
    cookie: {secure: false, maxAge: MAX_AGE_MS},
  })
  app.post("/login", async (request) => {
    request.session.user = {id: 1, name: "Ada"}
    return {ok: true}
  })
  app.get("/me", async (request) => ({
    user: request.session.user ?? null,
    views: request.session.views ?? 0,
  }))
  app.post("/count", async (request) => {
    request.session.views = (request.session.views ?? 0) + 1
    return {views: request.session.views}
  })
  app.post("/logout", async (request) => {
    await request.session.destroy()
    return {ok: true}
  })
  moreRoutes(app)
  const address = await app.listen({port: 0, host: "127.0.0.1"})
  return {app, base: address}
}
