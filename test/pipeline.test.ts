import { NodeSdk } from "@effect/opentelemetry"
import { afterAll, describe, expect } from "@effect/vitest"
import { DatabaseLive, MetricsScraper, PrometheusText } from "@notification-service/core"
import { decodeEvent, type NotificationId, type UserId } from "@notification-service/domain"
import { WorkerServicesLive, WorkersLive } from "@notification-service/workers"
import { SpanKind } from "@opentelemetry/api"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Schedule from "effect/Schedule"
import pg from "pg"
import { inject } from "vitest"
import { privateDatabase } from "./support/database.js"
import { commandRecord, consumeUntil, kafkaBrokers, makeKafka, produce, uniqueTopic } from "./support/kafka.js"
import { type ReceivedMail, smtpServer } from "./support/providers.js"
import { client, json, migrate, raw, testServer, unique, uniqueUserId, withServerLayer } from "./support/server.js"

const kafka = await kafkaBrokers()
// The worker takes every due notification and every event it finds: it gets a database of its own.
const database = await privateDatabase(inject("databaseUrl"), migrate)
afterAll(() => database?.stop())

const topics = {
  commands: uniqueTopic("pipeline.commands"),
  events: uniqueTopic("pipeline.events"),
  identity: uniqueTopic("pipeline.identity")
}

class Mailbox extends Context.Tag("test/Mailbox")<Mailbox, Array<ReceivedMail>>() {}

// Both processes' spans, in memory: the trace must cross the Kafka hop.
const spans = new InMemorySpanExporter()
const TracingInMemory = Layer.merge(
  NodeSdk.layer(() => ({ resource: { serviceName: "pipeline-test" }, spanProcessor: new SimpleSpanProcessor(spans) })),
  Layer.succeed(MetricsScraper, { scrape: PrometheusText.scrape })
)

/** The server (HTTP only) and the worker (relay, consumers, dispatch loop) as two process would run. */
const pipeline = (brokers: ReadonlyArray<string>, url: string) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const smtp = yield* smtpServer()
      const settings: Record<string, string> = {
        KAFKA_BROKERS: brokers.join(","),
        KAFKA_TOPIC_COMMANDS: topics.commands,
        KAFKA_TOPIC_EVENTS: topics.events,
        KAFKA_TOPIC_IDENTITY: topics.identity,
        KAFKA_IDEMPOTENT_PRODUCER: "false",
        KAFKA_CLIENT_ID: unique("pipeline"),
        OUTBOX_RELAY_POLL_INTERVAL: "200 millis",
        KAFKA_SESSION_TIMEOUT: "6 seconds",
        DISPATCHER_POLL_INTERVAL: "200 millis",
        EMAIL_PROVIDERS: "smtp",
        EMAIL_FROM: "Bambu <no-reply@bambu.example>",
        SMTP_HOST: "127.0.0.1",
        SMTP_PORT: String(smtp.port)
      }
      const worker = WorkersLive.pipe(
        Layer.provide(WorkerServicesLive),
        Layer.provide(DatabaseLive),
        Layer.provide(TracingInMemory),
        Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
        Layer.provide(
          Layer.setConfigProvider(
            ConfigProvider.fromMap(
              new Map([...Object.entries(settings), ["DATABASE_URL", url], ["DATABASE_POOL_SIZE", "5"]])
            )
          )
        )
      )
      return Layer.mergeAll(
        testServer(settings, { url }, TracingInMemory),
        worker,
        Layer.succeed(Mailbox, smtp.received)
      )
    })
  )

const contactVersion = async (url: string, userId: number): Promise<number | undefined> => {
  const connection = new pg.Client({ connectionString: url })
  await connection.connect()
  try {
    const result = await connection.query("SELECT version FROM user_contacts WHERE user_id = $1", [userId])
    const row = result.rows[0] as { version: string } | undefined
    return row === undefined ? undefined : Number(row.version)
  } finally {
    await connection.end()
  }
}

const eventually = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("30 seconds"))))

const emailTemplate = Effect.suspend(() =>
  raw(
    "/api/v1/templates",
    json("POST", {
      name: unique("pipeline"),
      type: "email",
      subject: "Payment of {{ amount }}",
      body: "Hello {{ name }}, {{ amount }} received.",
      variables: [{ name: "name" }, { name: "amount" }]
    })
  )
).pipe(Effect.map((response) => response.body as { id: string; name: string }))

if ("skip" in kafka || database === undefined) {
  describe.skip(`pipeline (${"skip" in kafka ? kafka.skip : "needs a PostgreSQL server"})`, () => {})
} else {
  const kafkaClient = makeKafka(kafka.brokers)
  withServerLayer(pipeline(kafka.brokers, database.url))("pipeline through Kafka", (it) => {
    it.effect("HTTP send -> outbox -> Kafka -> worker -> SMTP, and notification.sent on the events topic", () =>
      Effect.gen(function* () {
        const mailbox = yield* Mailbox
        const template = yield* emailTemplate
        const userId = uniqueUserId()
        const sent = yield* raw(
          "/api/v1/notifications/send",
          json("POST", {
            user_id: userId,
            template_id: template.id,
            variables: { name: "Ada", amount: "€12.50" },
            recipient: { email: `ada.${userId}@example.com` }
          })
        )
        expect(sent.status).toBe(202)
        const id = (sent.body as { id: string }).id
        const requestId = sent.headers.get("x-request-id")

        const messages = yield* Effect.promise(() =>
          consumeUntil(kafkaClient, topics.events, (seen) =>
            seen.some((m) => m.value?.includes(id) === true && m.headers.event_type === "notification.sent")
          )
        )
        const record = messages.find(
          (m) => m.value?.includes(id) === true && m.headers.event_type === "notification.sent"
        )
        const event = Either.getOrThrow(decodeEvent(record?.value ?? ""))
        expect(event).toMatchObject({
          event_type: "notification.sent",
          aggregate_id: id,
          user_id: userId,
          payload: { notification_id: id, notification_type: "email", template_id: template.id, attempts: 1 },
          metadata: { provider: "smtp", message_id: expect.any(String) }
        })
        expect(record?.key).toBe(String(userId))
        // The sent event, written by the worker, still carries the HTTP request's id.
        expect(requestId).not.toBeNull()
        expect(event.correlation_id).toBe(requestId)
        const mail = mailbox.find((m) => m.envelope.to.includes(`ada.${userId}@example.com`))
        expect(mail?.mail.subject).toBe("Payment of €12.50")

        // One trace: the HTTP request, the relay's record (traceparent header), the worker's
        // consumer span (messaging.* attributes) and the provider call.
        const finished = spans.getFinishedSpans()
        const request = finished.find((span) => span.attributes["http.request_id"] === requestId)
        const traceId = request?.spanContext().traceId
        expect(traceId).toMatch(/^[0-9a-f]{32}$/)
        const accepted = messages.find(
          (m) => m.value?.includes(id) === true && m.headers.event_type === "notification.accepted"
        )
        expect(String(accepted?.headers.traceparent)).toContain(String(traceId))
        const inTrace = finished.filter((span) => span.spanContext().traceId === traceId)
        const consumerSpan = inTrace.find((span) => span.name === `${topics.events} process`)
        expect(consumerSpan?.kind).toBe(SpanKind.CONSUMER)
        expect(consumerSpan?.attributes).toMatchObject({
          "messaging.system": "kafka",
          "messaging.operation": "process",
          "messaging.destination.name": topics.events,
          "messaging.message.id": String(accepted?.headers.event_id)
        })
        expect(inTrace.map((span) => span.name)).toContain("Delivery.smtp")
      })
    )

    it.effect("a notification.requested command is delivered; the same command twice is processed once", () =>
      Effect.gen(function* () {
        const mailbox = yield* Mailbox
        const template = yield* emailTemplate
        const userId = uniqueUserId()
        const eventId = crypto.randomUUID()
        const message = commandRecord(eventId, userId, {
          template_name: template.name,
          variables: { name: "Grace", amount: "€3" },
          recipient: { email: `grace.${userId}@example.com` }
        })
        yield* Effect.promise(() => produce(kafkaClient, topics.commands, [message, message]))

        const api = yield* client()
        const page = yield* eventually(
          api.notifications
            .listForUser({ path: { user_id: userId as UserId }, urlParams: {} })
            .pipe(Effect.filterOrFail((p) => p.data.some((n) => n.status === "sent")))
        )
        expect(page.data).toHaveLength(1)
        const notification = yield* api.notifications.get({ path: { id: page.data[0]?.id as NotificationId } })
        expect(notification).toMatchObject({ status: "sent", provider: "smtp", attempts: 1 })
        expect(mailbox.filter((m) => m.envelope.to.includes(`grace.${userId}@example.com`))).toHaveLength(1)
      })
    )

    it.effect("a poison message goes to the dead-letter topic with its headers and the dlq.* headers", () =>
      Effect.gen(function* () {
        const marker = unique("poison")
        yield* Effect.promise(() =>
          produce(kafkaClient, topics.commands, [
            { key: "7", value: `{not json ${marker}`, headers: { origin: marker } }
          ])
        )
        const dead = yield* Effect.promise(() =>
          consumeUntil(kafkaClient, `${topics.commands}.dlq`, (seen) => seen.some((m) => m.headers.origin === marker))
        )
        const record = dead.find((m) => m.headers.origin === marker)
        expect(record?.key).toBe("7")
        expect(record?.value).toBe(`{not json ${marker}`)
        expect(record?.headers).toMatchObject({
          origin: marker,
          "dlq.original.topic": topics.commands,
          "dlq.exception.class": "UndecodableEvent",
          "dlq.consumer_group": expect.stringMatching(/\.commands$/)
        })
        expect(record?.headers["dlq.original.partition"]).toMatch(/^\d+$/)
        expect(record?.headers["dlq.original.offset"]).toMatch(/^\d+$/)
        expect(record?.headers["dlq.exception.message"]).toMatch(/^not JSON/)
        expect(Number.isNaN(Date.parse(String(record?.headers["dlq.failed_at"])))).toBe(false)
      })
    )

    it.effect("identity's contact updates change the address used; stale ones are ignored", () =>
      Effect.gen(function* () {
        const mailbox = yield* Mailbox
        const template = yield* emailTemplate
        const userId = uniqueUserId()
        const userEvent = (version: number, email: string) => ({
          key: String(userId),
          value: JSON.stringify({
            event_id: crypto.randomUUID(),
            event_type: "user.updated",
            user_id: userId,
            version,
            email,
            occurred_at: new Date().toISOString()
          })
        })
        yield* Effect.promise(() =>
          produce(kafkaClient, topics.identity, [
            userEvent(2, `new.${userId}@example.com`),
            userEvent(1, `old.${userId}@example.com`)
          ])
        )
        // The projection is applied asynchronously: send once the newer version is there.
        yield* eventually(
          Effect.promise(() => contactVersion(database.url, userId)).pipe(
            Effect.filterOrFail((version) => version === 2)
          )
        )
        const sent = yield* raw(
          "/api/v1/notifications/send",
          json("POST", { user_id: userId, template_id: template.id, variables: { name: "Lin", amount: "€1" } })
        )
        expect(sent.status).toBe(202)
        yield* eventually(
          Effect.suspend(() =>
            mailbox.some((m) => m.envelope.to.includes(`new.${userId}@example.com`))
              ? Effect.void
              : Effect.fail("no mail yet")
          )
        )
        expect(mailbox.some((m) => m.envelope.to.includes(`old.${userId}@example.com`))).toBe(false)
      })
    )
  })
}
