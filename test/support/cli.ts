// Running the admin command line as a user does, in its own process, and the sessions its
// tests seed.

import {spawn} from "node:child_process"
import {fileURLToPath} from "node:url"
import type {SessionData} from "express-session"
import {makeSession} from "./sessions.js"

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url))

export interface Outcome {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the command line in its own process, as `npx redis-session-store ...` would. */
export function cli(
  args: string[],
  options: {stdin?: string; env?: NodeJS.ProcessEnv; keepStdinOpen?: boolean} = {},
) {
  return new Promise<Outcome>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
      env: {...process.env, REDIS_URL: "", ...options.env},
      // A hang fails the test here rather than at vitest's own bound.
      timeout: 25_000,
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk
    })
    child.on("error", reject)
    child.on("close", (code) => resolve({code, stdout, stderr}))
    if (options.keepStdinOpen) child.stdin.write(options.stdin ?? "")
    else child.stdin.end(options.stdin ?? "")
  })
}

/** The owner function of the apps these tests stand for. */
export const owner = (session: SessionData) => session.user?.id
export const userSession = (id: number) => makeSession(60_000, {user: {id, name: `user ${id}`}})
