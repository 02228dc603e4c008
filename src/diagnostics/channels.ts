// What the store tells Node's diagnostics_channel, for APM tools (OpenTelemetry, Sentry,
// Datadog) and for the app's own metrics: one TracingChannel per operation, and plain
// channels for changes of state. Channels are global by name, so a subscriber needs nothing
// from this package but the names (the ESM and CommonJS copies publish on the same ones).
//
// Nothing here costs anything while nobody listens: the store looks at `hasSubscribers`
// before it builds a context, and publishes nothing when it is false.

import {channel, type TracingChannel, tracingChannel} from "node:diagnostics_channel"
import {type StoreOperationContext, sessionHash} from "./trace.js"

/** The operations that publish on a TracingChannel of their own. */
export type StoreOperation =
  | "get"
  | "set"
  | "touch"
  | "destroy"
  | "clear"
  | "length"
  | "ids"
  | "all"
  | "sessionsOf"
  | "revokeOwner"

/** The name of each channel the store publishes on. */
export const CHANNELS = {
  /** TracingChannel names: `redis-session-store:get`, `redis-session-store:set`, ... */
  operation: (operation: StoreOperation) => `redis-session-store:${operation}` as const,
  /** Redis stopped serving the store, or serves it again: {@link ConnectionMessage}. */
  connection: "redis-session-store:connection",
  /** Redundant mode: one server went down, came back, or failed a command: {@link ServerMessage}. */
  server: "redis-session-store:server",
  /** A stored value could not be read as a session: {@link UnreadableMessage}. */
  unreadable: "redis-session-store:unreadable",
} as const

/** On `redis-session-store:connection`. */
export interface ConnectionMessage {
  readonly prefix: string
  readonly event: "connect" | "disconnect"
  /** Why it cannot serve (with `disconnect`): the error the store's event carries. */
  readonly reason: unknown
}

/** On `redis-session-store:server` (redundant mode only). */
export interface ServerMessage {
  readonly prefix: string
  readonly event: "serverDown" | "serverUp" | "serverError"
  /** The server's name (its `name` in `clients`, or its place in the list). */
  readonly server: string
  readonly reason: unknown
}

/** On `redis-session-store:unreadable`: never the value, the id or the parser's message. */
export interface UnreadableMessage {
  readonly prefix: string
  /** The session id's keyed hash (see {@link StoreOperationContext.sessionHash}). */
  readonly sessionHash: string
}

type OperationChannel = TracingChannel<unknown, StoreOperationContext>

const operations = new Map<StoreOperation, OperationChannel>()

/** The TracingChannel of one operation (made once, then shared). */
export function operationChannel(operation: StoreOperation): OperationChannel {
  let made = operations.get(operation)
  if (made === undefined) {
    made = tracingChannel(CHANNELS.operation(operation))
    operations.set(operation, made)
  }
  return made
}

/**
 * True when anything listens to any of the channel's five events. (TracingChannel has its
 * own `hasSubscribers` only from Node 20.13; this is the same test.)
 */
export function isTraced(traced: OperationChannel): boolean {
  return (
    traced.start.hasSubscribers ||
    traced.end.hasSubscribers ||
    traced.asyncStart.hasSubscribers ||
    traced.asyncEnd.hasSubscribers ||
    traced.error.hasSubscribers
  )
}

/** The channels every request may reach, looked up once. */
export const GET = operationChannel("get")
export const SET = operationChannel("set")
export const TOUCH = operationChannel("touch")
export const DESTROY = operationChannel("destroy")

const connectionChannel = channel(CHANNELS.connection)
const serverChannel = channel(CHANNELS.server)
const unreadableChannel = channel(CHANNELS.unreadable)

export function publishConnection(
  prefix: string,
  event: ConnectionMessage["event"],
  reason: unknown,
): void {
  if (!connectionChannel.hasSubscribers) return
  connectionChannel.publish({prefix, event, reason} satisfies ConnectionMessage)
}

export function publishServer(
  prefix: string,
  event: ServerMessage["event"],
  report: {server: string; reason?: unknown},
): void {
  if (!serverChannel.hasSubscribers) return
  const {server, reason} = report
  serverChannel.publish({prefix, event, server, reason} satisfies ServerMessage)
}

/** A stored value could not be read: its session told by its keyed hash, nothing more. */
export function publishUnreadable(prefix: string, sid: string): void {
  if (!unreadableChannel.hasSubscribers) return
  unreadableChannel.publish({prefix, sessionHash: sessionHash(sid)} satisfies UnreadableMessage)
}
