// Option names are checked as their values are: a misspelled one (`prefx`, `tll`) would
// otherwise be ignored and the store would run with a default the user did not choose.

import {distance} from "fastest-levenshtein"
import {CLIENT_SETTING_NAMES} from "../redis/owned-client.js"
import type {RedisStoreSettings} from "./options.js"

// A record rather than a list, so the type checker says when an option is added to
// RedisStoreSettings and not here.
const SETTING_NAMES: Record<keyof RedisStoreSettings, true> = {
  prefix: true,
  ttl: true,
  disableTTL: true,
  disableTouch: true,
  serializer: true,
  scanCount: true,
  tombstoneSeconds: true,
  touchAfter: true,
  timeout: true,
  connectionEvents: true,
  maxBytes: true,
  owner: true,
  absoluteTimeout: true,
  maxSessionsPerOwner: true,
  onTooManySessions: true,
  concurrentWrites: true,
  resolveConflict: true,
  whileUnavailable: true,
}

const STORE_NAMES: readonly string[] = [
  ...Object.keys(SETTING_NAMES),
  "client",
  "clients",
  ...CLIENT_SETTING_NAMES,
]

/** Farther than this from every option, a name is not taken for a misspelling of one. */
const MOST_EDITS = 2

/** Throws a TypeError for a name in the store's options that is no option of it. */
export function checkStoreOptionNames(options: object): void {
  checkNames(options, "RedisStore", STORE_NAMES)
}

/** The same for one entry of `clients` given as settings. */
export function checkClientSettingNames(settings: object, where: string): void {
  checkNames(settings, where, CLIENT_SETTING_NAMES)
}

/**
 * With `socket` given as node-redis's own options, every other name goes to its
 * `createClient` as it is (`password`, `username`...): only a near miss of one of ours is
 * refused then.
 */
function checkNames(options: object, where: string, known: readonly string[]): void {
  const passedThrough =
    typeof (options as {socket?: unknown}).socket === "object" &&
    (options as {socket?: unknown}).socket !== null
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue
    const meant = nearest(name, known)
    if (meant === undefined && passedThrough) continue
    throw new TypeError(
      meant === undefined
        ? `${where}: unknown option "${name}"; the options are ${known.join(", ")}`
        : `${where}: unknown option "${name}"; did you mean "${meant}"?`,
    )
  }
}

/** The known name closest to `name` (case aside), if it is a likely misspelling of it. */
function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestEdits = MOST_EDITS + 1
  for (const candidate of known) {
    const edits = distance(name.toLowerCase(), candidate.toLowerCase())
    if (edits < bestEdits && edits < candidate.length) {
      best = candidate
      bestEdits = edits
    }
  }
  return best
}
