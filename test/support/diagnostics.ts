// Subscribes to the store's diagnostics channels the way an APM tool does (by name, with
// node:diagnostics_channel), and keeps what one store (told by its prefix) published.

import {subscribe, tracingChannel, unsubscribe} from "node:diagnostics_channel"
import {inspect} from "node:util"
import {CHANNELS, type StoreOperation, type StoreOperationContext} from "../../src/index.js"

export const OPERATIONS: readonly StoreOperation[] = [
  "get",
  "set",
  "touch",
  "destroy",
  "clear",
  "length",
  "ids",
  "all",
  "sessionsOf",
  "revokeOwner",
]

export type TraceEvent = "start" | "end" | "asyncStart" | "asyncEnd" | "error"

export interface Published {
  operation: StoreOperation
  event: TraceEvent
  context: StoreOperationContext
}

export interface Recorder {
  /** Every tracing event, in order. */
  readonly events: Published[]
  /** Messages of the plain channels, by channel name. */
  readonly messages: Map<string, unknown[]>
  /** The finished calls of one operation: their contexts, in the order they ended. */
  finished(operation: StoreOperation): StoreOperationContext[]
  /** The events one call went through (told by its context). */
  eventsOf(context: StoreOperationContext): TraceEvent[]
  /** Everything published, each as JSON and as util.inspect shows it (hidden fields too). */
  everythingPrinted(): string
  stop(): void
}

/** Starts listening to every channel; only what concerns `prefix` is kept. */
export function record(prefix: string): Recorder {
  const events: Published[] = []
  const messages = new Map<string, unknown[]>()
  const undo: (() => void)[] = []
  for (const operation of OPERATIONS) {
    const channel = tracingChannel<unknown, StoreOperationContext>(CHANNELS.operation(operation))
    const keep = (event: TraceEvent) => (context: StoreOperationContext) => {
      if (context.prefix === prefix) events.push({operation, event, context})
    }
    const handlers = {
      start: keep("start"),
      end: keep("end"),
      asyncStart: keep("asyncStart"),
      asyncEnd: keep("asyncEnd"),
      error: keep("error"),
    }
    channel.subscribe(handlers)
    undo.push(() => channel.unsubscribe(handlers))
  }
  for (const name of [CHANNELS.connection, CHANNELS.server, CHANNELS.unreadable]) {
    const listener = (message: unknown) => {
      if ((message as {prefix?: unknown}).prefix !== prefix) return
      messages.set(name, [...(messages.get(name) ?? []), message])
    }
    subscribe(name, listener)
    undo.push(() => unsubscribe(name, listener))
  }
  return {
    events,
    messages,
    finished: (operation) =>
      events
        .filter((e) => e.operation === operation && e.event === "asyncEnd")
        .map((e) => e.context),
    eventsOf: (context) => events.filter((e) => e.context === context).map((e) => e.event),
    everythingPrinted() {
      const published = [...events.map((e) => e.context), ...[...messages.values()].flat()]
      return published
        .map((item) => {
          const visible = {
            ...(item as object),
            sessionHash: (item as StoreOperationContext).sessionHash,
          }
          return `${JSON.stringify(visible, printable)}\n${inspect(item, {depth: 8, showHidden: true, getters: true})}`
        })
        .join("\n")
    },
    stop() {
      for (const step of undo) step()
    },
  }
}

/** JSON for anything a payload may hold (errors show their own fields and message). */
function printable(_key: string, value: unknown): unknown {
  if (value instanceof Error) return {...value, message: value.message, stack: value.stack}
  return value
}
