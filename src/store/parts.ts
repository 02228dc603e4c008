// What a store is made of, checked and built from its options in one place: the settings
// every method reads, then the client layer, codec, bulk walker, owner index and health
// probe. Every option is checked before any client is built, so a construction that throws
// leaves no connection open behind it.

import {BulkSessions} from "../bulk/bulk.js"
import type {CorruptSessionError} from "../errors.js"
import {OwnerIndex, type OwnerLimit, validateOwner} from "../owners/owner-index.js"
import {Availability} from "../redis/availability.js"
import {type Backend, prepareBackend} from "../redis/backend.js"
import {Gate} from "../redis/gate.js"
import type {ServerEvent, ServerReport} from "../redis/redundant.js"
import {SessionCodec} from "./codec.js"
import {Lifetime} from "./lifetime.js"
import {MergingWriter} from "./merge.js"
import {checkStoreOptionNames} from "./option-names.js"
import {
  DEFAULT_TOMBSTONE_SECONDS,
  type RedisStoreOptions,
  type Serializer,
  validateConcurrentWrites,
  validateFlag,
  validateMaxBytes,
  validateMaxSessionsPerOwner,
  validateOnTooManySessions,
  validatePrefix,
  validateResolveConflict,
  validateScanCount,
  validateSeconds,
  validateSerializer,
  validateTimeout,
  validateWhileUnavailable,
} from "./options.js"
import {SessionReads} from "./reads.js"
import {InFlightReads, Renewal} from "./renewal.js"
import {tombstonePolicy} from "./tombstone-policy.js"
import {type TtlOption, validateTtlOption} from "./ttl.js"
import {SessionWrites} from "./writes.js"

/** The store's settings, checked; the store exposes them as read-only fields. */
export interface StoreSettings {
  readonly timeout: number
  readonly tombstoneSeconds: number
  readonly touchAfter: number
  readonly prefix: string
  readonly ttl: TtlOption
  readonly disableTTL: boolean
  readonly disableTouch: boolean
  readonly serializer: Serializer
  readonly scanCount: number
  readonly maxBytes: number | undefined
  readonly concurrentWrites: ConcurrentWrites
  readonly absoluteTimeout: number
  readonly maxSessionsPerOwner: number | undefined
  readonly onTooManySessions: OnTooManySessions
  readonly whileUnavailable: "reject" | "no-session"
}

export type ConcurrentWrites = "merge" | "overwrite"
export type OnTooManySessions = "revokeOldest" | "refuse"

export interface StoreParts {
  readonly settings: StoreSettings
  readonly backend: Backend
  readonly codec: SessionCodec
  readonly bulk: BulkSessions
  readonly owners: OwnerIndex | undefined
  readonly availability: Availability
  /** Saves for concurrentWrites "merge"; undefined for "overwrite". */
  readonly merging: MergingWriter | undefined
  /** Creation times, kept with `owner` or `absoluteTimeout`; undefined otherwise. */
  readonly lifetime: Lifetime | undefined
  /** get. */
  readonly reads: SessionReads
  /** set and touch. */
  readonly writes: SessionWrites
  /** Reads kept for saves that come without createSession; undefined when not kept. */
  readonly inFlight: InFlightReads | undefined
  /** True when createSession carries the read's note over to the Session it builds. */
  readonly noteCarried: boolean
}

/** How the parts speak to the store: its events. */
export interface StoreVoice {
  connection(event: "connect" | "disconnect", reason: unknown): void
  server(event: ServerEvent, report: ServerReport): void
  corrupt(error: CorruptSessionError): void
}

export function assembleStore(options: RedisStoreOptions, voice: StoreVoice): StoreParts {
  checkStoreOptionNames(options)
  const timeout = validateTimeout(options.timeout)
  const settings = {
    timeout,
    tombstoneSeconds: validateSeconds(
      "tombstoneSeconds",
      options.tombstoneSeconds,
      DEFAULT_TOMBSTONE_SECONDS,
    ),
    touchAfter: validateSeconds("touchAfter", options.touchAfter, 0),
    prefix: validatePrefix(options.prefix),
    ttl: validateTtlOption(options.ttl),
    disableTTL: validateFlag("disableTTL", options.disableTTL),
    disableTouch: validateFlag("disableTouch", options.disableTouch),
    serializer: validateSerializer(options.serializer),
    scanCount: validateScanCount(options.scanCount),
    maxBytes: validateMaxBytes(options.maxBytes),
    concurrentWrites: validateConcurrentWrites(
      options.concurrentWrites,
      (options as {clients?: unknown}).clients !== undefined,
    ),
  }
  const resolveConflict = validateResolveConflict(options.resolveConflict)
  const ownerOf = validateOwner(options.owner)
  const absoluteTimeout = validateSeconds("absoluteTimeout", options.absoluteTimeout, 0)
  const maxSessionsPerOwner = validateMaxSessionsPerOwner(options.maxSessionsPerOwner, ownerOf)
  const onTooManySessions = validateOnTooManySessions(
    options.onTooManySessions,
    maxSessionsPerOwner,
  )
  const limit: OwnerLimit | undefined =
    maxSessionsPerOwner === undefined
      ? undefined
      : {
          max: maxSessionsPerOwner,
          onTooMany: onTooManySessions,
          // An evicted id stays refused while its tombstone keeps it dead (a minute at least).
          refusalMs: Math.max(settings.tombstoneSeconds, 60) * 1000,
        }
  const connectionEvents = validateFlag("connectionEvents", options.connectionEvents ?? true)
  const whileUnavailable = validateWhileUnavailable(options.whileUnavailable)
  const buildBackend = prepareBackend(options)

  // Everything is valid: build.
  const retryMs = Math.min(timeout || 1000, 1000)
  // A first connection may take the time bound before it counts as an outage.
  const firstConnectionMs = timeout || retryMs
  let availability: Availability | undefined
  const gate = new Gate()
  const backend = buildBackend({
    gate,
    timeoutMs: timeout,
    retryMs,
    firstConnectionMs,
    tombstones: tombstonePolicy(settings.tombstoneSeconds),
    touchAfter: settings.touchAfter,
    observe: (error) => availability?.commandFailed(error),
    // An owned client's own errors (a refused connection, a wrong password) tell the probe.
    clientError: () => availability?.check(),
    report: (event, report) => voice.server(event, report),
  })
  const redis = backend.redis
  const codec = new SessionCodec(settings.serializer, voice.corrupt, settings.maxBytes)
  const {prefix, scanCount} = settings
  const bulk = new BulkSessions({redis, prefix, scanCount, codec})
  // Creation times are kept for absoluteTimeout, and for sessionsOf (with an owner).
  const lifetime =
    absoluteTimeout > 0 || ownerOf !== undefined ? new Lifetime(absoluteTimeout * 1000) : undefined
  const owners =
    ownerOf &&
    new OwnerIndex({
      redis,
      prefix,
      ownerOf,
      batchSize: scanCount,
      readEach: (keys) => bulk.readEach(keys),
      endSessions: (keys) => bulk.end(keys, undefined),
      limit,
      lifetime,
    })
  // Watched also without connection events: the gate makes calls fail fast either way.
  const announce = connectionEvents ? voice.connection : () => {}
  availability = new Availability(redis, announce, retryMs, firstConnectionMs, gate)
  // whileUnavailable "no-session": while the gate is shut, reads answer a stand-in and its
  // save back is skipped (stand-in.ts).
  const standIns = whileUnavailable === "no-session" ? gate : undefined
  const merging =
    settings.concurrentWrites === "merge"
      ? new MergingWriter({
          redis,
          codec,
          resolveConflict,
          // The merged session may have another owner than this request's.
          merged: (sid, session, ttlMs) => owners?.track(sid, session, ttlMs),
        })
      : undefined
  const checked = {
    ...settings,
    absoluteTimeout,
    maxSessionsPerOwner,
    onTooManySessions,
    whileUnavailable,
  }
  // touchAfter learns the expiry with its own read instead (renewal.ts).
  const inFlight = settings.touchAfter > 0 ? undefined : new InFlightReads()
  const renewal =
    settings.touchAfter > 0 ||
    absoluteTimeout > 0 ||
    settings.disableTouch ||
    settings.disableTTL ||
    redis.readRenewing === undefined
      ? undefined
      : new Renewal()
  return {
    settings: checked,
    reads: new SessionReads({
      ...settings,
      redis,
      codec,
      merging,
      lifetime,
      renewal,
      inFlight,
      unavailable: standIns,
    }),
    writes: new SessionWrites(checked, {
      unavailable: standIns,
      redis,
      codec,
      owners,
      merging,
      lifetime,
      renewal,
      inFlight,
    }),
    inFlight,
    noteCarried: merging !== undefined || renewal !== undefined,
    backend,
    codec,
    bulk,
    owners,
    availability,
    merging,
    lifetime,
  }
}
