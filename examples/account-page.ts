// An account page's "your devices" and "log out my other devices" for Express, on the
// store's owner index (docs/devices.md). Session ids work as passwords, so the page never
// shows another session's id: each device is described by what the app noted at login.
//
//   const store = new RedisStore({client, owner: (session) => session.accountId})
//   app.use("/account", accountRoutes(store))

import {type Request, type Response, Router} from "express"
import type {RedisStore} from "../src/index.js"

/** What this app keeps in a session: the user, and the device noted at login. */
export interface AccountFields {
  accountId?: number
  device?: string
}

const fieldsOf = (session: object) => session as AccountFields

export interface Device {
  device: string | undefined
  current: boolean
  signedInAt: string | undefined
  lastSeenAt: string | undefined
}

export function accountRoutes(store: RedisStore): Router {
  const routes = Router()

  // Your devices: every live session of this user, most recently seen first.
  routes.get("/devices", async (req: Request, res: Response) => {
    const userId = fieldsOf(req.session).accountId
    if (userId === undefined) return res.status(401).json({error: "not logged in"})
    const sessions = await store.sessionsOf(userId)
    const devices: Device[] = sessions
      .sort((a, b) => (b.lastSeenAt ?? 0) - (a.lastSeenAt ?? 0))
      .map(({id, session, createdAt, lastSeenAt}) => ({
        device: fieldsOf(session).device,
        current: id === req.sessionID,
        signedInAt: createdAt === undefined ? undefined : new Date(createdAt).toISOString(),
        lastSeenAt: lastSeenAt === undefined ? undefined : new Date(lastSeenAt).toISOString(),
      }))
    return res.json({devices})
  })

  // Log out my other devices: every session of this user but this one ends, for good.
  routes.post("/devices/log-out-others", async (req: Request, res: Response) => {
    const userId = fieldsOf(req.session).accountId
    if (userId === undefined) return res.status(401).json({error: "not logged in"})
    const ended = await store.revokeOwner(userId, {except: [req.sessionID]})
    return res.json({ended})
  })

  return routes
}
