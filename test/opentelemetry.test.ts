// The OpenTelemetry example (examples/opentelemetry.ts) against a real server, with in-memory
// exporters: a span per call with its outcome, a latency histogram and outcome counters per
// operation, no session id anywhere, and nothing more once it is uninstalled.

import {context} from "@opentelemetry/api"
import {AsyncLocalStorageContextManager} from "@opentelemetry/context-async-hooks"
import {
  AggregationTemporality,
  DataPointType,
  type HistogramMetricData,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type SumMetricData,
} from "@opentelemetry/sdk-metrics"
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base"
import {afterAll, beforeAll, describe, expect, it} from "vitest"
import {instrumentSessionStore} from "../examples/opentelemetry.js"
import {RedisStore, sessionHash} from "../src/index.js"
import {CLIENT_KINDS, connectClient, type TestClient} from "./support/clients.js"
import {type RedisServer, startRedisServer} from "./support/redis-servers.js"
import {makeSession, uniquePrefix} from "./support/sessions.js"

const KINDS = CLIENT_KINDS.filter((kind) =>
  ["node-redis 6 client", "ioredis 6 client"].includes(kind.name),
)

describe.each(KINDS)("the OpenTelemetry example, with a $name", (kind) => {
  let server: RedisServer
  let connection: TestClient

  beforeAll(async () => {
    server = await startRedisServer()
    connection = await connectClient(kind, {standalone: server})
  })
  afterAll(async () => {
    await connection?.close()
    await server?.stop()
  })

  it("makes a span per call and per-operation latency and outcome metrics", async () => {
    const spans = new InMemorySpanExporter()
    const tracing = new BasicTracerProvider({spanProcessors: [new SimpleSpanProcessor(spans)]})
    const exported = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({
      exporter: exported,
      exportIntervalMillis: 3_600_000,
    })
    const metering = new MeterProvider({readers: [reader]})
    const uninstall = instrumentSessionStore({
      tracer: tracing.getTracer("test"),
      meter: metering.getMeter("test"),
    })
    const sid = "Hq2Vn8Rk5Tz1Lc7Wd4Xb0Ys6"
    const store = new RedisStore(connection.client, {prefix: uniquePrefix("otel"), maxBytes: 500})
    try {
      await store.set(sid, makeSession())
      await store.get(sid)
      await store.get("nobody")
      await store.touch(sid, makeSession())
      await expect(
        store.set(sid, makeSession(60_000, {cart: Array.from({length: 300}, (_, i) => i)})),
      ).rejects.toMatchObject({code: "ETOOLARGE"})
      await store.destroy(sid)
      await store.get(sid)
      expect(await store.length()).toBe(0)
    } finally {
      uninstall()
    }
    await store.get(sid) // not instrumented any more: no span, no count

    const finished = spans.getFinishedSpans()
    expect(finished.map((span) => [span.name, span.attributes["session_store.outcome"]])).toEqual([
      ["session set", "written"],
      ["session get", "hit"],
      ["session get", "miss"],
      ["session touch", "touched"],
      ["session set", "too-large"],
      ["session destroy", "destroyed"],
      ["session get", "logged-out"],
      ["session length", "done"],
    ])
    const [written, hit] = finished
    expect(written?.attributes["session_store.bytes"]).toBeGreaterThan(50)
    expect(hit?.attributes["session_store.session_hash"]).toBe(sessionHash(sid))
    const refused = finished[4]
    expect(refused?.status.code).toBe(2) // SpanStatusCode.ERROR
    expect(refused?.events.map((event) => event.name)).toEqual(["exception"])
    expect(JSON.stringify(finished.map((span) => [span.attributes, span.events]))).not.toContain(
      sid,
    )

    await reader.forceFlush()
    const metrics = exported.getMetrics().at(-1)?.scopeMetrics[0]?.metrics ?? []
    const counter = metrics.find(
      (metric) => metric.descriptor.name === "session_store.operation.outcomes",
    ) as SumMetricData
    const counted = Object.fromEntries(
      counter.dataPoints.map((point) => [
        `${point.attributes["session_store.operation"]} ${point.attributes["session_store.outcome"]}`,
        point.value,
      ]),
    )
    expect(counted).toEqual({
      "set written": 1,
      "get hit": 1,
      "get miss": 1,
      "touch touched": 1,
      "set too-large": 1,
      "destroy destroyed": 1,
      "get logged-out": 1,
      "length done": 1,
    })
    const histogram = metrics.find(
      (metric) => metric.descriptor.name === "session_store.operation.duration",
    ) as HistogramMetricData
    expect(histogram.dataPointType).toBe(DataPointType.HISTOGRAM)
    const gets = histogram.dataPoints.filter(
      (point) => point.attributes["session_store.operation"] === "get",
    )
    expect(gets.map((point) => point.value.count).reduce((a, b) => a + b, 0)).toBe(3)
    for (const point of histogram.dataPoints) expect(point.value.min).toBeGreaterThanOrEqual(0)
    await metering.shutdown()
    await tracing.shutdown()
  })

  it("a call's span is a child of the span active where the app called the store", async () => {
    // What an instrumented HTTP server does: each request runs inside its own span's context.
    const contexts = new AsyncLocalStorageContextManager().enable()
    context.setGlobalContextManager(contexts)
    const spans = new InMemorySpanExporter()
    const tracing = new BasicTracerProvider({spanProcessors: [new SimpleSpanProcessor(spans)]})
    const tracer = tracing.getTracer("test")
    const uninstall = instrumentSessionStore({tracer})
    const store = new RedisStore(connection.client, {prefix: uniquePrefix("otel-parent")})
    try {
      const request = async (name: string) =>
        tracer.startActiveSpan(name, async (span) => {
          await store.set(name, makeSession())
          await store.get(name)
          span.end()
        })
      await Promise.all([request("first request"), request("second request")])
    } finally {
      uninstall()
      context.disable()
    }
    // Read before shutdown, which empties the in-memory exporter.
    const finished = spans.getFinishedSpans()
    for (const name of ["first request", "second request"]) {
      const parent = finished.find((span) => span.name === name)
      const children = finished.filter(
        (span) => span.parentSpanContext?.spanId === parent?.spanContext().spanId,
      )
      expect(children.map((span) => span.name)).toEqual(["session set", "session get"])
      expect(
        children.every((span) => span.spanContext().traceId === parent?.spanContext().traceId),
      ).toBe(true)
    }
  })
})
