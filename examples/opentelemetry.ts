// OpenTelemetry spans and metrics for the session store, built from its diagnostics channels
// with the OpenTelemetry API alone: no patching, and nothing paid while it is not installed.
//
//   import {instrumentSessionStore} from "./opentelemetry.js"
//   const stop = instrumentSessionStore() // the global tracer and meter (your SDK's set-up)
//
// Each store call becomes a span named "session <operation>" (a child of the request's span
// when the SDK's context manager is on), with the outcome, the value's size, merge retries
// and, in redundant mode, the servers that failed. Two instruments:
//   session_store.operation.duration  histogram (ms), by operation and outcome
//   session_store.operation.outcomes  counter, by operation and outcome
// Attributes never hold a session id; the span carries the id's keyed hash only.

import {tracingChannel} from "node:diagnostics_channel"
import {performance} from "node:perf_hooks"
import {
  type Attributes,
  type Meter,
  metrics,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api"
import {CHANNELS, type StoreOperation, type StoreOperationContext} from "redis-session-store"

const OPERATIONS: readonly StoreOperation[] = [
  ...["get", "set", "touch", "destroy", "clear", "length", "ids", "all"],
  ...["sessionsOf", "revokeOwner"],
] as StoreOperation[]

export interface InstrumentOptions {
  /** @default trace.getTracer("redis-session-store") */
  tracer?: Tracer
  /** @default metrics.getMeter("redis-session-store") */
  meter?: Meter
}

/** Subscribes to every operation's channel; returns the function that unsubscribes. */
export function instrumentSessionStore(options: InstrumentOptions = {}): () => void {
  const tracer = options.tracer ?? trace.getTracer("redis-session-store")
  const meter = options.meter ?? metrics.getMeter("redis-session-store")
  const duration = meter.createHistogram("session_store.operation.duration", {
    description: "How long a session store call took, from call to settle",
    unit: "ms",
  })
  const outcomes = meter.createCounter("session_store.operation.outcomes", {
    description: "Session store calls, by how they ended",
  })
  // One span per call, found again by its context (the same object from start to asyncEnd).
  const running = new WeakMap<StoreOperationContext, {span: Span; startedAt: number}>()

  const handlers = {
    end() {},
    asyncStart() {},
    start(context: StoreOperationContext) {
      const span = tracer.startSpan(`session ${context.operation}`, {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": "redis",
          "session_store.operation": context.operation,
          "session_store.prefix": context.prefix,
        },
      })
      running.set(context, {span, startedAt: performance.now()})
    },
    error(context: StoreOperationContext) {
      const call = running.get(context)
      if (call === undefined) return
      const error = context.error
      if (error instanceof Error) call.span.recordException(error)
      call.span.setStatus({code: SpanStatusCode.ERROR, message: String(context.outcome)})
    },
    asyncEnd(context: StoreOperationContext) {
      const call = running.get(context)
      if (call === undefined) return
      running.delete(context)
      const measured = {
        "session_store.operation": context.operation,
        "session_store.outcome": context.outcome ?? "unknown",
      }
      duration.record(performance.now() - call.startedAt, measured)
      outcomes.add(1, measured)
      call.span.setAttributes({...measured, ...details(context)})
      call.span.end()
    },
  }
  const channels = OPERATIONS.map((operation) =>
    tracingChannel<unknown, StoreOperationContext>(CHANNELS.operation(operation)),
  )
  for (const channel of channels) channel.subscribe(handlers)
  return () => {
    for (const channel of channels) channel.unsubscribe(handlers)
  }
}

/** The span attributes a call has beyond operation and outcome (only those it has). */
function details(context: StoreOperationContext): Attributes {
  const attributes: Attributes = {}
  if (context.sessionHash !== undefined)
    attributes["session_store.session_hash"] = context.sessionHash
  if (context.bytes !== undefined) attributes["session_store.bytes"] = context.bytes
  if (context.retries > 0) attributes["session_store.retries"] = context.retries
  if (context.count !== undefined) attributes["session_store.count"] = context.count
  if (context.failedServers !== undefined) {
    attributes["session_store.failed_servers"] = context.failedServers
  }
  return attributes
}
