/**
 * End to end through Kafka: notifications per second and latency from the HTTP 202 to the provider
 * call. The server (HTTP) and the worker (outbox relay, Kafka consumers, dispatch loop) run in this
 * process with their own layers and database pools, as their two processes would, against a fresh
 * PostgreSQL database, Kafka and a local Twilio stub that answers every message after 50 ms.
 *
 * Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:pipeline
 *        KAFKA_BROKERS=localhost:9092 DATABASE_URL=… npm run bench:pipeline   (a real broker)
 *        KAFKA_PARTITIONS_CONCURRENTLY=2 DATABASE_URL=… npm run bench:pipeline -- --notifications=500 --write=false
 * Without KAFKA_BROKERS it builds and starts librdkafka's mock cluster (test/support/kafka-mock).
 * Options (or the BENCH_* variable of the same name): --notifications, --senders, --rate,
 * --rate-notifications, --latency, --warmup, --timeout, --write. Service settings (SMS_BULKHEAD_*,
 * DISPATCHER_*, OUTBOX_RELAY_*, KAFKA_PARTITIONS_CONCURRENTLY, …) are taken from the environment.
 * Writes docs/benchmarks/pipeline.md and pipeline.json.
 */

import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { loadavg } from "node:os"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { FileSystem, HttpServer } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import {
  channelConfig,
  DatabaseConfig,
  DatabaseLive,
  DispatcherConfig,
  KafkaConfig,
  MetricsScraper,
  OutboxRelayConfig,
  PrometheusText
} from "@notification-service/core"
import { runMigrations } from "@notification-service/migrations"
import { Lifecycle, NodeServerLive, ServicesLive } from "@notification-service/server"
import { WorkerServicesLive, WorkersLive } from "@notification-service/workers"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Tracer from "effect/Tracer"
import { buildMock as buildKafkaMock, mockBinary } from "../test/support/kafkaSetup.js"
import * as Bench from "./support.js"

const root = fileURLToPath(new URL("..", import.meta.url))

// ---------------------------------------------------------------------------------------------
// Options: `--name=value` (or `--name value`) on the command line, else BENCH_NAME, else defaults.

const optionNames = [
  "notifications",
  "senders",
  "rate",
  "rate-notifications",
  "latency",
  "warmup",
  "timeout",
  "write"
] as const

const BenchConfig = Config.all({
  /** The saturation run: this many sends from `senders` concurrent HTTP clients, each sending as soon as its last 202 came. */
  notifications: Config.integer("BENCH_NOTIFICATIONS").pipe(Config.withDefault(2000)),
  senders: Config.integer("BENCH_SENDERS").pipe(Config.withDefault(16)),
  /** The steady run: `rate-notifications` sends at `rate` per second, whatever the answers; 0 skips it. */
  rate: Config.number("BENCH_RATE").pipe(Config.withDefault(25)),
  rateNotifications: Config.integer("BENCH_RATE_NOTIFICATIONS").pipe(Config.withDefault(400)),
  latency: Config.duration("BENCH_LATENCY").pipe(Config.withDefault(Duration.millis(50))),
  /** Sent and delivered before measuring: consumer groups joined, code paths warm. */
  warmup: Config.integer("BENCH_WARMUP").pipe(Config.withDefault(50)),
  /** Per run, from the first send until the stub has every notification. */
  timeout: Config.duration("BENCH_TIMEOUT").pipe(Config.withDefault(Duration.seconds(90))),
  write: Config.boolean("BENCH_WRITE").pipe(Config.withDefault(true)),
  databaseUrl: Config.option(Config.string("DATABASE_URL")),
  kafkaBrokers: Config.option(Config.string("KAFKA_BROKERS"))
})
type BenchConfig = Config.Config.Success<typeof BenchConfig>

/** Service settings a run may change from the environment; the wiring (URLs, topics, keys) is the benchmark's. */
const tunable =
  /^(SMS_BULKHEAD_\w+|SMS_TIMEOUT|SMS_RETRY_\w+|DISPATCHER_(?!ENABLED)\w+|OUTBOX_RELAY_\w+|DELIVERY_\w+|CIRCUIT_BREAKER_\w+|KAFKA_PARTITIONS_CONCURRENTLY|KAFKA_IDEMPOTENT_PRODUCER|KAFKA_COMPRESSION|DATABASE_POOL_SIZE)$/

// ---------------------------------------------------------------------------------------------
// Statistics

/** Nearest-rank percentile of `values` (any order); 0 for none. */
const percentile = (values: ReadonlyArray<number>, q: number): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0
}

interface Spread {
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

const spread = (values: ReadonlyArray<number>): Spread => ({
  p50: Bench.round(percentile(values, 0.5), 1),
  p95: Bench.round(percentile(values, 0.95), 1),
  p99: Bench.round(percentile(values, 0.99), 1),
  max: Bench.round(
    values.reduce((max, v) => Math.max(max, v), values.length === 0 ? 0 : Number.NEGATIVE_INFINITY),
    1
  ),
  mean: Bench.round(values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length, 1)
})

/** CPU seconds a child process used so far (Linux /proc; undefined elsewhere). Assumes 100 clock ticks/s. */
const childCpuSeconds = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

interface LoadAverage {
  readonly "1m": number
  readonly "5m": number
  readonly "15m": number
}

const loadAverage = (): LoadAverage => {
  const [one = 0, five = 0, fifteen = 0] = loadavg()
  return { "1m": Bench.round(one, 2), "5m": Bench.round(five, 2), "15m": Bench.round(fifteen, 2) }
}

/** Sample sums -> average per sample, largest first. */
const averages = (sums: ReadonlyMap<string, number>, samples: number): Record<string, number> =>
  Object.fromEntries(
    [...sums]
      .map(([what, sum]) => [what, Bench.round(sum / Math.max(1, samples), 2)] as const)
      .sort(([, a], [, b]) => b - a)
  )

const counterValues = (name: string) =>
  Effect.map(Metric.snapshot, (pairs) => {
    const values = new Map<string, number>()
    for (const pair of pairs) {
      if (pair.metricKey.name !== name || !MetricState.isCounterState(pair.metricState)) continue
      const tags = pair.metricKey.tags.map((tag) => `${tag.key}=${tag.value}`).join(",")
      values.set(tags, Number(pair.metricState.count))
    }
    return values
  })

const counterDelta = (before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>) =>
  Object.fromEntries([...after].map(([tags, value]) => [tags, value - (before.get(tags) ?? 0)]))

// ---------------------------------------------------------------------------------------------
// Kafka: KAFKA_BROKERS, else librdkafka's mock cluster, built and started as test/support/kafkaSetup.ts does.
// Not its `startKafka`: that tries a testcontainers Kafka before the mock, and the benchmark needs the
// mock's pid (its CPU share) and whether it runs against the mock (no idempotent producer there).

interface BenchKafka {
  readonly brokers: string
  readonly kind: string
  readonly mock: boolean
  readonly pid: number | undefined
}

const buildMock = Effect.flatMap(
  Effect.promise(() => buildKafkaMock()),
  (failure) =>
    failure === undefined
      ? Effect.void
      : Effect.fail(new Bench.BenchError({ message: `${failure}, or set KAFKA_BROKERS` }))
)

const startMock = Effect.acquireRelease(
  Effect.zipRight(
    buildMock,
    Effect.async<{ readonly child: ReturnType<typeof spawn>; readonly bootstraps: string }, Bench.BenchError>(
      (resume) => {
        // --die-with-parent: a benchmark killed outright still takes its broker along.
        const child = spawn(mockBinary, ["--die-with-parent"], { stdio: ["ignore", "pipe", "inherit"] })
        let output = ""
        const fail = (message: string) => {
          child.kill("SIGTERM")
          resume(Effect.fail(new Bench.BenchError({ message: `kafka mock: ${message}` })))
        }
        const timer = setTimeout(() => fail("printed no bootstrap address within 10 s"), 10_000)
        child.stdout?.setEncoding("utf8")
        child.stdout?.on("data", (chunk: string) => {
          output += chunk
          const newline = output.indexOf("\n")
          if (newline < 0) return
          clearTimeout(timer)
          const line = output.slice(0, newline).trim()
          if (/^[\w.-]+:\d+(,[\w.-]+:\d+)*$/.test(line)) resume(Effect.succeed({ child, bootstraps: line }))
          else fail(`printed ${JSON.stringify(line)} instead of a bootstrap address`)
        })
        child.once("error", (error) => {
          clearTimeout(timer)
          fail(String(error))
        })
      }
    )
  ),
  ({ child }) =>
    Effect.async<void>((resume) => {
      if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
      child.once("exit", () => resume(Effect.void))
      child.kill("SIGTERM")
    })
)

const benchKafka = (brokers: Option.Option<string>): Effect.Effect<BenchKafka, Bench.BenchError, Scope.Scope> =>
  Option.match(
    Option.filter(brokers, (b) => b.trim() !== ""),
    {
      onSome: (brokers) => Effect.succeed({ brokers, kind: `KAFKA_BROKERS (${brokers})`, mock: false, pid: undefined }),
      onNone: () =>
        Effect.map(startMock, ({ child, bootstraps }) => ({
          brokers: bootstraps,
          kind: `librdkafka mock cluster (${bootstraps})`,
          mock: true,
          pid: child.pid
        }))
    }
  )

// ---------------------------------------------------------------------------------------------
// Which path delivered a notification, and when its Kafka record started being processed: the
// service's own spans, seen through a tracer that wraps the default (native) one. A
// `Dispatcher.dispatch` span with outcome `sent` under the dispatch consumer's `<topic> process`
// span was delivered from Kafka; without one, by the worker's dispatch loop.

interface Dispatched {
  readonly dispatchStartMs: number
  readonly consumer: Tracer.Span | undefined
}

class SpanRecorder {
  readonly dispatched = new Map<string, Dispatched>()
  /** The dispatch consumer's record spans that ended while `recording`, and whether they delivered. */
  readonly consumerSpans: Array<{ readonly span: Tracer.Span; readonly delivered: boolean }> = []
  recording = false
  private readonly delivering = new WeakSet<Tracer.Span>()

  constructor(readonly consumerSpanName: string) {}

  private consumerOf(span: Tracer.Span): Tracer.Span | undefined {
    let parent = span.parent
    while (Option.isSome(parent)) {
      const ancestor = parent.value
      if (ancestor._tag !== "Span") return undefined
      if (ancestor.name === this.consumerSpanName) return ancestor
      parent = ancestor.parent
    }
    return undefined
  }

  onEnd(span: Tracer.Span) {
    if (span.name === "Dispatcher.dispatch") {
      if (span.attributes.get("dispatch.outcome") !== "sent") return
      const consumer = this.consumerOf(span)
      if (consumer !== undefined) this.delivering.add(consumer)
      this.dispatched.set(String(span.attributes.get("notification.id")), {
        dispatchStartMs: Number(span.status.startTime) / 1e6,
        consumer
      })
    } else if (span.name === this.consumerSpanName && this.recording) {
      this.consumerSpans.push({ span, delivered: this.delivering.has(span) })
    }
  }

  layer(): Layer.Layer<never> {
    return Layer.unwrapEffect(
      Effect.map(Effect.tracer, (base) =>
        Layer.setTracer(
          Tracer.make({
            span: (name, parent, context, links, startTime, kind, options) => {
              const span = base.span(name, parent, context, links, startTime, kind, options)
              if (name !== "Dispatcher.dispatch" && name !== this.consumerSpanName) return span
              const end = span.end.bind(span)
              span.end = (endTime, exit) => {
                end(endTime, exit)
                this.onEnd(span)
              }
              return span
            },
            context: (f, fiber) => base.context(f, fiber)
          })
        )
      )
    )
  }
}

const spanMs = (span: Tracer.Span) => ({
  start: Number(span.status.startTime) / 1e6,
  end: span.status._tag === "Ended" ? Number(span.status.endTime) / 1e6 : undefined
})

// ---------------------------------------------------------------------------------------------
// The HTTP clients: keep-alive connections from node:http (lighter than fetch in a shared process).

interface Sent {
  readonly id: string
  readonly startMs: number
  readonly acceptedMs: number
}

const makeSender = (baseUrl: string, apiKey: string, maxSockets: number) => {
  const agent = new Agent({ keepAlive: true, maxSockets })
  const post = (path: string, body: unknown) =>
    Effect.async<
      { readonly status: number; readonly body: string; readonly startMs: number; readonly endMs: number },
      Bench.BenchError
    >((resume) => {
      const payload = JSON.stringify(body)
      const startMs = Bench.nowMs()
      const outgoing = request(
        `${baseUrl}${path}`,
        {
          method: "POST",
          agent,
          headers: {
            authorization: `Bearer ${apiKey}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(payload)
          }
        },
        (response) => {
          let text = ""
          response.setEncoding("utf8")
          response.on("data", (chunk: string) => {
            text += chunk
          })
          response.on("end", () =>
            resume(Effect.succeed({ status: response.statusCode ?? 0, body: text, startMs, endMs: Bench.nowMs() }))
          )
        }
      )
      outgoing.on("error", (error) =>
        resume(Effect.fail(new Bench.BenchError({ message: `${path}: ${error.message}` })))
      )
      outgoing.end(payload)
    })
  const accepted = (path: string, body: unknown, status: number) =>
    Effect.flatMap(post(path, body), (response) =>
      response.status === status
        ? Effect.succeed({ ...response, json: JSON.parse(response.body) as { readonly id: string } })
        : Effect.fail(new Bench.BenchError({ message: `${path}: ${response.status} ${response.body.slice(0, 300)}` }))
    )
  return { agent, accepted }
}

// ---------------------------------------------------------------------------------------------
// One measured run.

interface Load {
  readonly name: string
  readonly notifications: number
  /** Closed loop: this many clients, each sending when its last answer came. */
  readonly senders?: number
  /** Open loop: one send every 1/rate s, answered or not. */
  readonly rate?: number
}

interface TimelineRow {
  readonly second: number
  readonly accepted: number
  readonly deliveredFromKafka: number
  readonly deliveredByLoop: number
}

interface RunResult {
  readonly load: Load
  readonly notifications: number
  readonly acceptSeconds: number
  readonly acceptedPerSecond: number
  readonly httpMs: Spread
  readonly deliverySeconds: number
  readonly deliveredPerSecond: number
  readonly acceptToProviderMs: Spread
  readonly stages: {
    readonly acceptToRelayMs: Spread
    readonly relayToConsumerMs: Spread
    readonly consumerToProviderMs: Spread
  }
  readonly deliveredFromKafka: number
  readonly deliveredByLoop: number
  readonly partitions: Record<string, number>
  readonly consumerRecordMs: {
    readonly delivering: Spread
    /** Accepted records whose handling started before the last 202 (sends still coming in), and after. */
    readonly deliveringWhileSending: Spread
    readonly deliveringAfterSending: Spread
    readonly other: Spread
    readonly otherCount: number
  }
  /** Provider calls from Kafka per second up to the last 202, and from then to the last one from Kafka. */
  readonly fromKafkaPerSecond: { readonly whileSending: number; readonly afterSending: number }
  readonly relayBatches: number
  readonly providerCalls: number
  readonly duplicateProviderCalls: number
  readonly maxConcurrentProviderCalls: number
  readonly consumed: Record<string, number>
  readonly processCpuPercent: number
  readonly machineCpuPercent: number
  /** The same two up to the last 202, and from then until the last provider call. */
  readonly cpuWhileSending: { readonly process: number; readonly machine: number }
  readonly cpuAfterSending: { readonly process: number; readonly machine: number }
  /** Average number of the run's database sessions in each state, while sending and after. */
  readonly databaseSessions: {
    readonly whileSending: Record<string, number>
    readonly afterSending: Record<string, number>
  }
  readonly kafkaCpuPercent: number | null
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly loadAverage: { readonly before: LoadAverage; readonly after: LoadAverage }
  readonly timeline: ReadonlyArray<TimelineRow>
  /** From the last provider call until the dispatch consumer had handled every published event (null: not within 60 s). */
  readonly drainSeconds: number | null
}

const body = (templateId: string, i: number) => ({
  // A user each, so that records spread over the topic's partitions (the relay keys by user).
  user_id: 1_000_000 + i,
  template_id: templateId,
  variables: { code: String(i).padStart(6, "0") },
  recipient: { phone: "+447700900123" }
})

const sendAll = (
  sender: ReturnType<typeof makeSender>,
  templateId: string,
  load: Load,
  offset: number
): Effect.Effect<ReadonlyArray<Sent>, Bench.BenchError> => {
  const one = (i: number) =>
    Effect.map(sender.accepted("/api/v1/notifications/send", body(templateId, offset + i), 202), (r) => ({
      id: r.json.id,
      startMs: r.startMs,
      acceptedMs: r.endMs
    }))
  const indices = Array.from({ length: load.notifications }, (_, i) => i)
  if (load.rate !== undefined) {
    const interval = 1000 / load.rate
    return Effect.suspend(() => {
      const t0 = Bench.nowMs()
      return Effect.forEach(
        indices,
        (i) => Effect.zipRight(Effect.sleep(Duration.millis(Math.max(0, t0 + i * interval - Bench.nowMs()))), one(i)),
        { concurrency: "unbounded" }
      )
    })
  }
  return Effect.forEach(indices, one, { concurrency: load.senders ?? 1 })
}

const waitDelivered = (stub: Bench.ProviderStub, ids: ReadonlyArray<string>) =>
  Effect.sync(() => ids.every((id) => stub.received.has(id))).pipe(
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (done) => done })
  )

/** Every outbox event published, and every published event handled by the dispatch consumer. */
const caughtUp = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const published = [...(yield* counterValues("outbox_relay_published_total")).values()].reduce((a, b) => a + b, 0)
  const consumed = [...(yield* counterValues("kafka_messages_consumed_total"))]
    .filter(([tags]) => tags.includes("consumer=dispatch"))
    .reduce((sum, [, n]) => sum + n, 0)
  const [unpublished] = yield* sql<{ readonly n: number }>`
    SELECT count(*)::int AS n FROM outbox_events WHERE published_at IS NULL`
  return unpublished?.n === 0 && consumed >= published
}).pipe(
  Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (done) => done }),
  Effect.timeout("60 seconds"),
  Effect.option
)

const runLoad = (options: {
  readonly load: Load
  readonly offset: number
  readonly config: BenchConfig
  readonly stub: Bench.ProviderStub
  readonly sender: ReturnType<typeof makeSender>
  readonly templateId: string
  readonly recorder: SpanRecorder
  readonly kafka: BenchKafka
}) =>
  Effect.gen(function* () {
    const { load, stub, sender, templateId, recorder, kafka } = options
    const sql = yield* SqlClient.SqlClient
    yield* stub.reset
    recorder.consumerSpans.length = 0
    recorder.recording = true
    const consumedBefore = yield* counterValues("kafka_messages_consumed_total")
    const loadBefore = loadAverage()
    const cpuBefore = process.cpuUsage()
    const machineBefore = yield* Bench.machineTimes
    const kafkaBefore = childCpuSeconds(kafka.pid)
    const loopDelay = monitorEventLoopDelay({ resolution: 10 })
    loopDelay.enable()
    const startedAt = Bench.nowMs()

    // What the run's database sessions are doing, every 100 ms: running, waiting on a lock or the WAL,
    // or idle in a transaction (waiting for the Node process to send the next statement).
    const sessions = { sending: new Map<string, number>(), after: new Map<string, number>() }
    const sampleCount = { sending: 0, after: 0 }
    let phase: "sending" | "after" = "sending"
    const sampler = yield* sql<{ readonly what: string; readonly n: number }>`
      SELECT state || ' (' || coalesce(wait_event_type || ':' || wait_event, 'no wait') || ')' AS what, count(*)::int AS n
      FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'
      GROUP BY 1`.pipe(
      Effect.tap((rows) =>
        Effect.sync(() => {
          sampleCount[phase] += 1
          for (const row of rows) sessions[phase].set(row.what, (sessions[phase].get(row.what) ?? 0) + row.n)
        })
      ),
      Effect.repeat(Schedule.spaced("100 millis")),
      Effect.ignore,
      Effect.fork
    )
    let cpuSending = { user: 0, system: 0 }
    let machineSending = machineBefore
    let sendingMs = 1

    const sent = yield* Effect.gen(function* () {
      const sent = yield* sendAll(sender, templateId, load, options.offset)
      cpuSending = process.cpuUsage(cpuBefore)
      machineSending = yield* Bench.machineTimes
      sendingMs = Bench.nowMs() - startedAt
      phase = "after"
      yield* waitDelivered(
        stub,
        sent.map((s) => s.id)
      )
      return sent
    }).pipe(
      Effect.timeout(options.config.timeout),
      Effect.catchTag("TimeoutException", () =>
        Effect.flatMap(
          stub.stats,
          (stats) =>
            new Bench.BenchError({
              message: `${load.name}: not every notification reached the provider within ${Duration.format(options.config.timeout)} (${stats.requests} provider calls so far)`
            })
        )
      )
    )
    const finishedAt = Bench.nowMs()
    yield* Fiber.interrupt(sampler)
    loopDelay.disable()
    const cpu = process.cpuUsage(cpuBefore)
    const machineAfter = yield* Bench.machineTimes
    const kafkaAfter = childCpuSeconds(kafka.pid)
    const loadAfter = loadAverage()
    const provider = yield* stub.stats

    // The dispatch spans end once `sent` is recorded, a little after the provider call.
    yield* Effect.sync(() => sent.every((s) => recorder.dispatched.has(s.id))).pipe(
      Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (done) => done }),
      Effect.timeout("10 seconds"),
      Effect.ignore
    )
    recorder.recording = false
    const consumedAfter = yield* counterValues("kafka_messages_consumed_total")
    // The consumer may still have records to go through (those the loop delivered, `notification.sent`
    // events): the next load starts once it has caught up.
    const drained = yield* caughtUp
    const drainSeconds = Option.isSome(drained) ? Bench.round((Bench.nowMs() - finishedAt) / 1000, 1) : null

    const published = new Map(
      (yield* sql<{ readonly id: string; readonly published_ms: number }>`
        SELECT aggregate_id AS id, (extract(epoch FROM published_at) * 1000)::float8 AS published_ms
        FROM outbox_events
        WHERE event_type = 'notification.accepted' AND aggregate_id IN ${sql.in(sent.map((s) => s.id))}`).map((row) => [
        row.id,
        row.published_ms
      ])
    )

    const firstAccept = Math.min(...sent.map((s) => s.acceptedMs))
    const lastAccept = Math.max(...sent.map((s) => s.acceptedMs))
    const lastProvider = Math.max(...sent.map((s) => stub.received.get(s.id) ?? 0))
    const acceptToProvider: Array<number> = []
    const acceptToRelay: Array<number> = []
    const relayToConsumer: Array<number> = []
    const consumerToProvider: Array<number> = []
    const partitions: Record<string, number> = {}
    let fromKafka = 0
    let byLoop = 0
    const kafkaCalls: Array<number> = []
    const seconds = Math.ceil((Math.max(lastProvider, lastAccept) - startedAt) / 1000)
    const timeline: Array<{ second: number; accepted: number; deliveredFromKafka: number; deliveredByLoop: number }> =
      Array.from({ length: seconds }, (_, second) => ({
        second: second + 1,
        accepted: 0,
        deliveredFromKafka: 0,
        deliveredByLoop: 0
      }))
    const bucket = (ms: number) => timeline[Math.min(timeline.length - 1, Math.floor((ms - startedAt) / 1000))]
    for (const s of sent) {
      const providerAt = stub.received.get(s.id) ?? s.acceptedMs
      acceptToProvider.push(providerAt - s.acceptedMs)
      const acceptedRow = bucket(s.acceptedMs)
      if (acceptedRow !== undefined) acceptedRow.accepted += 1
      const publishedAt = published.get(s.id)
      if (publishedAt !== undefined) acceptToRelay.push(publishedAt - s.acceptedMs)
      const consumer = recorder.dispatched.get(s.id)?.consumer
      const deliveredRow = bucket(providerAt)
      if (consumer === undefined) {
        byLoop += 1
        if (deliveredRow !== undefined) deliveredRow.deliveredByLoop += 1
        continue
      }
      fromKafka += 1
      kafkaCalls.push(providerAt)
      if (deliveredRow !== undefined) deliveredRow.deliveredFromKafka += 1
      const consumerStart = spanMs(consumer).start
      if (publishedAt !== undefined) relayToConsumer.push(consumerStart - publishedAt)
      consumerToProvider.push(providerAt - consumerStart)
      const partition = String(consumer.attributes.get("messaging.kafka.destination.partition"))
      partitions[partition] = (partitions[partition] ?? 0) + 1
    }
    const durations = (delivered: boolean, when: (start: number) => boolean = () => true) =>
      recorder.consumerSpans.flatMap(({ span, delivered: d }) => {
        const { start, end } = spanMs(span)
        return d === delivered && end !== undefined && when(start) ? [end - start] : []
      })
    const other = durations(false)
    const kafkaWhile = kafkaCalls.filter((at) => at <= lastAccept).length
    const lastKafka = Math.max(lastAccept, ...kafkaCalls)
    const wallMs = finishedAt - startedAt
    const result: RunResult = {
      load,
      notifications: sent.length,
      acceptSeconds: Bench.round((lastAccept - startedAt) / 1000, 2),
      acceptedPerSecond: Bench.round(sent.length / ((lastAccept - startedAt) / 1000), 1),
      httpMs: spread(sent.map((s) => s.acceptedMs - s.startMs)),
      deliverySeconds: Bench.round((lastProvider - firstAccept) / 1000, 2),
      deliveredPerSecond: Bench.round(sent.length / ((lastProvider - firstAccept) / 1000), 1),
      acceptToProviderMs: spread(acceptToProvider),
      stages: {
        acceptToRelayMs: spread(acceptToRelay),
        relayToConsumerMs: spread(relayToConsumer),
        consumerToProviderMs: spread(consumerToProvider)
      },
      deliveredFromKafka: fromKafka,
      deliveredByLoop: byLoop,
      partitions,
      consumerRecordMs: {
        delivering: spread(durations(true)),
        deliveringWhileSending: spread(durations(true, (start) => start <= lastAccept)),
        deliveringAfterSending: spread(durations(true, (start) => start > lastAccept)),
        other: spread(other),
        otherCount: other.length
      },
      fromKafkaPerSecond: {
        whileSending: Bench.round(kafkaWhile / Math.max(0.001, (lastAccept - firstAccept) / 1000), 1),
        afterSending: Bench.round((fromKafka - kafkaWhile) / Math.max(0.001, (lastKafka - lastAccept) / 1000), 1)
      },
      relayBatches: new Set(published.values()).size,
      providerCalls: provider.requests,
      duplicateProviderCalls: provider.duplicates,
      maxConcurrentProviderCalls: provider.maxInFlight,
      consumed: counterDelta(consumedBefore, consumedAfter),
      processCpuPercent: Bench.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100, 0),
      cpuWhileSending: {
        process: Bench.round(((cpuSending.user + cpuSending.system) / 1000 / sendingMs) * 100, 0),
        machine: Bench.machineShare(machineBefore, machineSending)
      },
      cpuAfterSending: {
        process: Bench.round(
          ((cpu.user + cpu.system - cpuSending.user - cpuSending.system) / 1000 / Math.max(1, wallMs - sendingMs)) *
            100,
          0
        ),
        machine: Bench.machineShare(machineSending, machineAfter)
      },
      databaseSessions: {
        whileSending: averages(sessions.sending, sampleCount.sending),
        afterSending: averages(sessions.after, sampleCount.after)
      },
      machineCpuPercent: Bench.machineShare(machineBefore, machineAfter),
      kafkaCpuPercent:
        kafkaBefore === undefined || kafkaAfter === undefined
          ? null
          : Bench.round(((kafkaAfter - kafkaBefore) * 1000 * 100) / wallMs, 0),
      eventLoopDelayMs: {
        p50: Bench.round(loopDelay.percentile(50) / 1e6, 1),
        p99: Bench.round(loopDelay.percentile(99) / 1e6, 1),
        max: Bench.round(loopDelay.max / 1e6, 1)
      },
      loadAverage: { before: loadBefore, after: loadAfter },
      timeline,
      drainSeconds
    }
    const l = result.acceptToProviderMs
    yield* Console.log(
      `${load.name}: ${result.notifications} accepted in ${result.acceptSeconds} s = ${result.acceptedPerSecond}/s ` +
        `(HTTP p50 ${result.httpMs.p50} ms); delivered in ${result.deliverySeconds} s = ${result.deliveredPerSecond}/s ` +
        `(${fromKafka} from Kafka, ${byLoop} by the loop); 202 -> provider p50/p95/p99/max ` +
        `${l.p50}/${l.p95}/${l.p99}/${l.max} ms; stages p50 relay ${result.stages.acceptToRelayMs.p50}, ` +
        `Kafka+queue ${result.stages.relayToConsumerMs.p50}, dispatch ${result.stages.consumerToProviderMs.p50} ms; ` +
        `record ${result.consumerRecordMs.deliveringWhileSending.p50}/${result.consumerRecordMs.deliveringAfterSending.p50} ms ` +
        `(while/after sending), from Kafka ${result.fromKafkaPerSecond.whileSending}/${result.fromKafkaPerSecond.afterSending}/s; max ${provider.maxInFlight} provider calls at once; ` +
        `CPU process ${result.processCpuPercent}% (${result.cpuWhileSending.process}% while sending, ` +
        `${result.cpuAfterSending.process}% after), machine ${result.machineCpuPercent}%` +
        (result.kafkaCpuPercent === null ? "" : `, Kafka ${result.kafkaCpuPercent}%`) +
        `; load ${loadBefore["1m"]} -> ${loadAfter["1m"]}; Kafka backlog drained ` +
        (drainSeconds === null ? "not within 60 s" : `${drainSeconds} s after the last provider call`)
    )
    return result
  })

// ---------------------------------------------------------------------------------------------
// Results: docs/benchmarks/pipeline.md and pipeline.json.

interface Settings {
  readonly [name: string]: string | number | boolean
}

interface Results {
  readonly when: string
  readonly machine: { readonly node: string; readonly cpus: number; readonly cpuModel: string }
  readonly database: string
  readonly kafka: string
  readonly providerLatencyMs: number
  readonly warmup: number
  readonly settings: Settings
  readonly runs: ReadonlyArray<RunResult>
}

const sessionCells = (sessions: Record<string, number>) =>
  Object.entries(sessions)
    .slice(0, 3)
    .map(([what, n]) => `${n} ${what}`)
    .join("; ")

const spreadCells = (s: Spread) => `${s.p50} / ${s.p95} / ${s.p99} / ${s.max}`

const writeResults = (results: Results) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const { when, machine, database, kafka, providerLatencyMs, warmup, settings, runs } = results
    const column = (label: string, cell: (run: RunResult) => string) => [label, ...runs.map(cell)]
    const table = Bench.markdownTable(
      ["", ...runs.map((run) => run.load.name)],
      [
        column("Notifications", (r) => String(r.notifications)),
        column("Accepted/s (HTTP 202s)", (r) => `${r.acceptedPerSecond} (${r.acceptSeconds} s)`),
        column("HTTP send p50 / p99 ms", (r) => `${r.httpMs.p50} / ${r.httpMs.p99}`),
        column("Delivered/s end to end", (r) => `${r.deliveredPerSecond} (${r.deliverySeconds} s)`),
        column("202 → provider p50 / p95 / p99 / max ms", (r) => spreadCells(r.acceptToProviderMs)),
        column(
          "… 202 → relay batch p50 / p95 ms",
          (r) => `${r.stages.acceptToRelayMs.p50} / ${r.stages.acceptToRelayMs.p95}`
        ),
        column(
          "… relay → consumer p50 / p95 ms",
          (r) => `${r.stages.relayToConsumerMs.p50} / ${r.stages.relayToConsumerMs.p95}`
        ),
        column(
          "… consumer → provider p50 / p95 ms",
          (r) => `${r.stages.consumerToProviderMs.p50} / ${r.stages.consumerToProviderMs.p95}`
        ),
        column("Delivered from Kafka / by the loop", (r) => `${r.deliveredFromKafka} / ${r.deliveredByLoop}`),
        column("From Kafka/s while sending / after", (r) =>
          [r.fromKafkaPerSecond.whileSending, r.fromKafkaPerSecond.afterSending].join(" / ")
        ),
        column("Record ms, accepted, while sending p50 / p95", (r) =>
          [r.consumerRecordMs.deliveringWhileSending.p50, r.consumerRecordMs.deliveringWhileSending.p95].join(" / ")
        ),
        column("Record ms, accepted, after sending p50 / p95", (r) =>
          [r.consumerRecordMs.deliveringAfterSending.p50, r.consumerRecordMs.deliveringAfterSending.p95].join(" / ")
        ),
        column(
          "Record ms, other events p50 / mean (count)",
          (r) => `${r.consumerRecordMs.other.p50} / ${r.consumerRecordMs.other.mean} (${r.consumerRecordMs.otherCount})`
        ),
        column("Partitions (accepted records each)", (r) =>
          Object.entries(r.partitions)
            .sort(([a], [b]) => Number(a) - Number(b))
            .map(([p, n]) => `${p}: ${n}`)
            .join(", ")
        ),
        column("Relay batches (accepted events)", (r) => String(r.relayBatches)),
        column("Max concurrent provider calls", (r) => String(r.maxConcurrentProviderCalls)),
        column("Provider calls / duplicates", (r) => `${r.providerCalls} / ${r.duplicateProviderCalls}`),
        column("Process CPU % of one core: run / while sending / after", (r) =>
          [r.processCpuPercent, r.cpuWhileSending.process, r.cpuAfterSending.process].join(" / ")
        ),
        column("Kafka mock CPU %", (r) => (r.kafkaCpuPercent === null ? "–" : String(r.kafkaCpuPercent))),
        column("Machine CPU % (all cores, everyone): run / while sending / after", (r) =>
          [r.machineCpuPercent, r.cpuWhileSending.machine, r.cpuAfterSending.machine].join(" / ")
        ),
        column("DB sessions while sending (average)", (r) => sessionCells(r.databaseSessions.whileSending)),
        column("DB sessions after sending (average)", (r) => sessionCells(r.databaseSessions.afterSending)),
        column("Event loop delay p50 / p99 / max ms", (r) =>
          [r.eventLoopDelayMs.p50, r.eventLoopDelayMs.p99, r.eventLoopDelayMs.max].join(" / ")
        ),
        column("Kafka backlog drained s after the last provider call", (r) =>
          r.drainSeconds === null ? "not within 60" : String(r.drainSeconds)
        ),
        column(
          "Load average (1 min) before → after",
          (r) => `${r.loadAverage.before["1m"]} → ${r.loadAverage.after["1m"]}`
        )
      ]
    )
    const timelines = runs
      .map((run) => {
        const step = Math.max(1, Math.ceil(run.timeline.length / 12))
        const rows: Array<Array<string>> = []
        for (let i = 0; i < run.timeline.length; i += step) {
          const slice = run.timeline.slice(i, i + step)
          const sum = (pick: (row: TimelineRow) => number) => slice.reduce((total, row) => total + pick(row), 0)
          const span = `${i}–${i + slice.length} s`
          rows.push([
            span,
            String(Bench.round(sum((r) => r.accepted) / slice.length, 0)),
            String(Bench.round(sum((r) => r.deliveredFromKafka) / slice.length, 0)),
            String(Bench.round(sum((r) => r.deliveredByLoop) / slice.length, 0))
          ])
        }
        return `${run.load.name}:\n\n${Bench.markdownTable(["Seconds", "Accepted/s", "Delivered from Kafka/s", "Delivered by the loop/s"], rows)}`
      })
      .join("\n\n")
    const settingsTable = Bench.markdownTable(
      ["Setting", "Value"],
      Object.entries(settings).map(([name, value]) => [name, String(value)])
    )
    yield* fs.writeFileString(
      `${root}/docs/benchmarks/pipeline.json`,
      `${JSON.stringify({ when, machine, database, kafka, providerLatencyMs, warmup, settings, runs }, null, 2)}\n`
    )
    yield* fs.writeFileString(
      `${root}/docs/benchmarks/pipeline.md`,
      `# Pipeline benchmark

\`npm run bench:pipeline\` (bench/pipeline.ts) measures the whole asynchronous path of an SMS, from the
HTTP \`202 Accepted\` of \`POST /api/v1/notifications/send\` to the provider's HTTP call:

    HTTP send -> notifications row + outbox event (one transaction, pg_notify)
      -> outbox relay (worker): batch of unpublished events -> Kafka \`notifications.events\`, marked published
      -> dispatch consumer (worker): \`notification.accepted\` -> claim, render, bulkhead -> breaker -> retry -> Twilio adapter
      -> Twilio stub: first request carrying this notification id (\`I-Twilio-Idempotency-Token\`)

One process runs the server (\`NodeServerLive\` over \`ServicesLive\`, \`Lifecycle\`, its own pool) and the worker
(\`WorkersLive\` over \`WorkerServicesLive\`, its own pool: relay, commands/dispatch/identity consumers, dispatch
loop), each built from its own layer and config map as its own process would be; the HTTP clients and the
Twilio stub (201 with a sid after ${providerLatencyMs} ms) are in the same process, so everything shares one event loop. The
database is a fresh one on DATABASE_URL's server (migrated, dropped at the end); Kafka is KAFKA_BROKERS or
librdkafka's mock cluster (test/support/kafka-mock), with topic names and a client id of the run's own.
A template is created over HTTP, ${warmup} notifications are sent and delivered to warm up (consumer groups joined),
then each load runs: every send is to a user of its own (records spread over the partitions by key).

- **Accepted/s**: sends ÷ (first request → last 202). **Delivered/s**: sends ÷ (first 202 → last provider call).
- **202 → provider**: per notification, the stub's receive time minus the client's 202 time (one clock).
- Its stages, per notification delivered from Kafka: **202 → relay batch** (\`outbox_events.published_at\`,
  the relay transaction's start: it may precede the 202 reaching the client); **relay → consumer** (start of
  the dispatch consumer's \`<topic> process\` span for the record: Kafka produce, fetch, and the wait behind
  earlier records of the same partition); **consumer → provider** (ledger check, claim transaction, render,
  bulkhead, HTTP call).
- **Delivered from Kafka / by the loop**: whether the \`Dispatcher.dispatch\` span that sent it ran under the
  dispatch consumer's span, or under the worker's dispatch loop (which takes pending notifications older
  than 30 s, so a backlog older than that is shared between both).
- **Record handling**: duration of the consumer's span per record, for \`notification.accepted\` records that
  delivered and for the other records of the events topic (\`notification.sent\` etc., which it only marks
  processed). A partition handles one record at a time.
- The service's spans are observed through a wrapper around the default tracer (no exporter, as without
  \`OTEL_EXPORTER_OTLP_ENDPOINT\`); logs at WARN and above only.
- CPU: this process (server, worker, clients, stub) in % of one core; the Kafka mock's own process; and the
  busy share of all cores, other people's processes included (the machine is shared: see load average).
  Each also while sends are coming in (up to the last 202) and after.
- DB sessions: \`pg_stat_activity\` of the run's database sampled every 100 ms, the average number of sessions in
  each state; "idle in transaction (Client:ClientRead)" is a transaction waiting for the Node process.

Run it:

\`\`\`sh
DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:pipeline
KAFKA_BROKERS=localhost:9092 DATABASE_URL=… npm run bench:pipeline   # a real broker instead of the mock
KAFKA_PARTITIONS_CONCURRENTLY=2 DATABASE_URL=… npm run bench:pipeline -- --notifications=500 --rate=0 --write=false
\`\`\`

Options: \`--notifications\` (${runs.find((r) => r.load.senders !== undefined)?.notifications ?? "–"}) and \`--senders\` for the saturation load, \`--rate\` (per second; 0 skips)
and \`--rate-notifications\` for the steady load, \`--latency\` (provider stub), \`--warmup\`, \`--timeout\`
(per load), \`--write\`. Service settings come from the environment (\`SMS_BULKHEAD_*\`, \`DISPATCHER_*\`,
\`OUTBOX_RELAY_*\`, \`DELIVERY_*\`, \`KAFKA_PARTITIONS_CONCURRENTLY\`, \`KAFKA_IDEMPOTENT_PRODUCER\`,
\`DATABASE_POOL_SIZE\`, …), else the benchmark's bulkhead of 50, else the service's defaults.

Run ${when} on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ${database}, Kafka: ${kafka}.

Settings in force (the worker's; the server uses the same pool size):

${settingsTable}

${table}

Per second (averaged over the rows' spans):

${timelines}

${FINDINGS}
`
    )
  })

const FINDINGS = `Findings (2026-11-23, eleven runs on the shared 2-core machine, load average 1–4.8 from other people's
tests; numbers vary by 30% and more between runs — see machine CPU % and load average above):

- **The relay is woken by \`pg_notify\` (fixed the same day).** Before the fix, \`Outbox.append\` sent an
  empty payload, which \`@effect/sql-pg\`'s \`listen\` drops, so every event waited for the relay's 1 s poll
  (202 → relay batch p50 ≈ 500 ms, p95 ≈ 970 ms). With the event id as payload that stage is now near zero
  (the table's "relay" stage; small negative values are clock granularity between the 202's timestamp and
  the relay's). Every send still pays for the NOTIFY (commits that notified are serialised).
- **The mock broker holds every fetch for the full \`maxWaitTimeInMs\` (500 ms, Consumer.ts).** librdkafka's
  mock cluster does not answer a waiting fetch when data arrives: with kafkajs alone, produce → \`eachMessage\`
  took 28–466 ms with a 500 ms max wait and up to 1.5 s with 2 s. A real broker answers as soon as one byte
  (\`minBytes\` 1) is there, so at low rates relay → consumer here (0.5–0.7 s p50 at 25/s: the hold, then the
  records of one fetch handled one after another per partition) overstates real Kafka by about 250 ms on
  average. No Docker engine here, so no real-broker numbers: run with \`KAFKA_BROKERS\` to get them.
- **The dispatch consumer is the throughput limit, and the bulkhead never comes into play on it.** kafkajs
  hands a partition's records to \`eachMessage\` one at a time, and the provider call is made inside the
  handling of the record: about 70 ms per \`notification.accepted\` record when nothing else runs (50 ms
  provider, ~20 ms ledger check, claim transaction, \`sent\` transaction and ledger row; the offset commit
  comes on top). So Kafka delivers at most partitions × 1000 / 70 ms: measured 40–49/s with 4 partitions
  and \`KAFKA_PARTITIONS_CONCURRENTLY\` 4 once the sends had stopped (less while the dispatch loop worked
  alongside), 13.4/s with \`KAFKA_PARTITIONS_CONCURRENTLY=1\` — a quarter to a third of what the in-process
  dispatcher reaches (bench:dispatch: 120–180/s), and under 5% of the 1000/s that 50 permits would allow.
  At most 4 provider calls were in flight from Kafka. docker-compose creates topics with 3 partitions.
  More throughput needs more partitions with a matching \`KAFKA_PARTITIONS_CONCURRENTLY\`, or handling the
  accepted records of a partition concurrently (the claim already makes redelivery safe; per-user order of
  independent sends is not needed) — a design choice, not a setting.
- **While HTTP sends come in, the Kafka path slows to 9–18/s.** Records then take 175–330 ms instead of 70:
  the database sessions are mostly "idle in transaction", waiting for the next statement from this one
  Node process, which runs at 80–100% of a core while accepting 80–170 sends/s (server, worker, HTTP clients
  and stub share its event loop). Separate server and worker processes, as deployed, would not share an event
  loop (they would still share these 2 cores with PostgreSQL).
- **Saturation: the backlog is handed to the dispatch loop after 30 s.** 16 senders offer 80–170 sends/s against
  ~45/s of Kafka delivery, so 202 → provider p50 grows to 22–34 s. The worker's loop leaves pending
  notifications to the consumer for 30 s (Worker.ts), then takes the oldest itself (\`DISPATCHER_CONCURRENCY\`
  32, 20–29 provider calls at once) and delivers 70–115/s: 330–1480 of the 2000 went that way, and their
  Kafka records later find nothing to claim (the consumer catches up 1–5 s after the last provider
  call). Latency is therefore capped near 31–36 s and end-to-end delivery
  was 33–45/s. No notification was sent twice (0 duplicate provider calls in every run).
- Accepting is not the limit: 78–168 sends/s with HTTP p50 86–185 ms in this shared process, below
  bench/http's 273/s for a server alone.`

// ---------------------------------------------------------------------------------------------

const main = Effect.gen(function* () {
  const config = yield* Bench.readOptions(optionNames, BenchConfig)
  const serverUrl = Option.getOrUndefined(Option.filter(config.databaseUrl, (url) => url.trim() !== ""))
  if (serverUrl === undefined) {
    return yield* new Bench.BenchError({
      message: "set DATABASE_URL to a PostgreSQL server (a fresh database is created on it and dropped after)"
    })
  }
  const loads: Array<Load> = []
  if (config.notifications > 0) {
    loads.push({
      name: `${config.senders} senders`,
      notifications: config.notifications,
      senders: Math.max(1, config.senders)
    })
  }
  if (config.rate > 0 && config.rateNotifications > 0) {
    loads.push({ name: `${config.rate}/s offered`, notifications: config.rateNotifications, rate: config.rate })
  }
  if (loads.length === 0) return yield* new Bench.BenchError({ message: "nothing to run: no notifications" })

  // kafkajs's note about its v2 partitioner, printed once per producer: not news here.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= "1"
  const databaseUrl = yield* Bench.serverDatabase(serverUrl, "ns_bench_pipeline")
  const kafka = yield* benchKafka(config.kafkaBrokers)
  const stub = yield* Bench.providerStub(config.latency, { recordTokens: true })

  const run = `bench-pipeline-${process.pid}-${Date.now().toString(36)}`
  const topics = { commands: `${run}.commands`, events: `${run}.events`, identity: `${run}.identity` }
  const apiKey = "bench-pipeline-key-0123456789"
  const fromEnvironment = Object.entries(process.env).flatMap(([name, value]) =>
    tunable.test(name) && value !== undefined ? [[name, value] as const] : []
  )
  const shared: ReadonlyArray<readonly [string, string]> = [
    ["SMS_BULKHEAD_MAX_CONCURRENT_CALLS", "50"],
    ...(kafka.mock ? ([["KAFKA_IDEMPOTENT_PRODUCER", "false"]] as const) : []),
    ...fromEnvironment,
    ["DATABASE_URL", databaseUrl],
    ["RUN_MIGRATIONS", "false"],
    ["KAFKA_BROKERS", kafka.brokers],
    ["KAFKA_CLIENT_ID", run],
    ["KAFKA_TOPIC_COMMANDS", topics.commands],
    ["KAFKA_TOPIC_EVENTS", topics.events],
    ["KAFKA_TOPIC_IDENTITY", topics.identity],
    ["SHUTDOWN_GRACE_PERIOD", "2 seconds"]
  ]
  const serverSettings = ConfigProvider.fromMap(
    new Map([
      ...shared,
      ["HOST", "127.0.0.1"],
      ["PORT", "0"],
      ["API_KEYS", `bench:${apiKey}:*`],
      ["RATE_LIMIT_REQUESTS", "1000000000"]
    ])
  )
  const workerSettings = ConfigProvider.fromMap(
    new Map([
      ...shared,
      ["SMS_PROVIDERS", "twilio"],
      ["TWILIO_BASE_URL", stub.url],
      ["TWILIO_ACCOUNT_SID", "ACbench00000000000000000000000000"],
      ["TWILIO_AUTH_TOKEN", "bench-token"],
      ["TWILIO_FROM", "+15005550006"]
    ])
  )

  const effective = yield* Effect.withConfigProvider(
    Config.all({
      sms: channelConfig("sms"),
      dispatcher: DispatcherConfig,
      relay: OutboxRelayConfig,
      kafka: KafkaConfig,
      database: DatabaseConfig,
      // The default is Consumers.ts's.
      partitionsConcurrently: Config.integer("KAFKA_PARTITIONS_CONCURRENTLY").pipe(Config.withDefault(4))
    }),
    workerSettings
  )
  const settings: Settings = {
    SMS_BULKHEAD_MAX_CONCURRENT_CALLS: effective.sms.bulkhead.maxConcurrentCalls,
    SMS_BULKHEAD_MAX_WAIT: Duration.format(effective.sms.bulkhead.maxWait),
    KAFKA_PARTITIONS_CONCURRENTLY: effective.partitionsConcurrently,
    "consumer maxWaitTimeInMs (Consumer.ts)": 500,
    KAFKA_IDEMPOTENT_PRODUCER: effective.kafka.idempotentProducer,
    KAFKA_COMPRESSION: effective.kafka.compression,
    OUTBOX_RELAY_BATCH_SIZE: effective.relay.batchSize,
    OUTBOX_RELAY_POLL_INTERVAL: `${Duration.format(effective.relay.pollInterval)} (meant to be woken by each send's pg_notify: see findings)`,
    DISPATCHER_CONCURRENCY: effective.dispatcher.concurrency,
    DISPATCHER_BATCH_SIZE: effective.dispatcher.batchSize,
    DISPATCHER_POLL_INTERVAL: Duration.format(effective.dispatcher.pollInterval),
    "worker loop's grace for fresh pending (Worker.ts)": "30s",
    DATABASE_POOL_SIZE: `${effective.database.poolSize} (server) + ${effective.database.poolSize} (worker)`
  }

  const recorder = new SpanRecorder(`${topics.events} process`)
  const telemetry = Layer.merge(recorder.layer(), Layer.succeed(MetricsScraper, { scrape: PrometheusText.scrape }))
  const serverLayer = NodeServerLive.pipe(
    Layer.provide(ServicesLive),
    Layer.provide(Lifecycle.Default),
    Layer.provide(DatabaseLive),
    Layer.provide(Layer.setConfigProvider(serverSettings))
  )
  const workerLayer = WorkersLive.pipe(
    Layer.provide(WorkerServicesLive),
    Layer.provide(DatabaseLive),
    Layer.provide(Layer.setConfigProvider(workerSettings))
  )
  // Fresh: each builds its own pool, dispatch signal and producer, as two processes would.
  const pipeline = Layer.mergeAll(Layer.fresh(serverLayer), Layer.fresh(workerLayer)).pipe(
    Layer.provide(telemetry),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning))
  )

  const measured = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* runMigrations
    const version = (yield* sql<{ readonly server_version: string }>`SHOW server_version`)[0]?.server_version ?? "?"
    const database = `PostgreSQL ${version}`
    yield* Console.log(
      `pipeline benchmark: ${database}, Kafka ${kafka.kind}, provider stub ${stub.url} answering after ${Duration.format(config.latency)}`
    )

    return yield* Effect.scoped(
      Effect.gen(function* () {
        const context = yield* Layer.build(pipeline)
        const address = Context.get(context, HttpServer.HttpServer).address
        const port = address._tag === "TcpAddress" ? address.port : 0
        const sender = makeSender(
          `http://127.0.0.1:${port}`,
          apiKey,
          Math.max(1, ...loads.map((l) => (l.rate === undefined ? (l.senders ?? 1) : Number.POSITIVE_INFINITY)))
        )
        yield* Effect.addFinalizer(() => Effect.sync(() => sender.agent.destroy()))
        const template = yield* sender.accepted(
          "/api/v1/templates",
          {
            name: "bench_pipeline_sms",
            type: "sms",
            body: "Your code is {{ code }}",
            variables: [{ name: "code", required: true }]
          },
          201
        )
        const templateId = template.json.id

        const warmup = yield* sendAll(
          sender,
          templateId,
          { name: "warm-up", notifications: config.warmup, senders: 4 },
          0
        ).pipe(
          Effect.tap((sent) =>
            waitDelivered(
              stub,
              sent.map((s) => s.id)
            )
          ),
          Effect.timeoutFail({
            duration: "60 seconds",
            onTimeout: () => new Bench.BenchError({ message: "warm-up: not delivered within 60 s (is Kafka working?)" })
          })
        )
        yield* Console.log(`warm-up: ${warmup.length} delivered`)

        const runs: Array<RunResult> = []
        let offset = config.warmup
        for (const load of loads) {
          // The warm-up's tail (its notification.sent events) first; each load drains its own.
          if (runs.length === 0) yield* caughtUp
          runs.push(yield* runLoad({ load, offset, config, stub, sender, templateId, recorder, kafka }))
          offset += load.notifications
        }
        const [statuses] = yield* sql<{ readonly sent: number; readonly other: number }>`
          SELECT count(*) FILTER (WHERE status = 'sent')::int AS sent, count(*) FILTER (WHERE status <> 'sent')::int AS other
          FROM notifications`
        yield* Console.log(`notifications: ${statuses?.sent ?? 0} sent, ${statuses?.other ?? 0} in another status`)
        return { database, runs }
      })
    )
  }).pipe(Effect.provide(DatabaseLive), Effect.withConfigProvider(ConfigProvider.fromMap(new Map(shared))))
  const { database, runs } = yield* measured

  const results: Results = {
    when: new Date().toISOString(),
    machine: Bench.machineInfo(),
    database,
    kafka: kafka.kind,
    providerLatencyMs: Duration.toMillis(config.latency),
    warmup: config.warmup,
    settings,
    runs
  }
  if (config.write) yield* writeResults(results)
  else yield* Console.log("--write=false: docs/benchmarks left as they were")
})

Bench.runBench(main)
