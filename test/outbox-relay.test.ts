import { describe, expect } from "@effect/vitest"
import { DatabaseLive, TelemetryLive } from "@notification-service/core"
import { decodeEvent } from "@notification-service/domain"
import { OutboxRelayLive, ProducerLive } from "@notification-service/workers"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { inject } from "vitest"
import { consumeUntil, kafkaBrokers, makeKafka, uniqueTopic } from "./support/kafka.js"
import { json, query, raw, testServer, unique, uniqueUserId, withServerLayer } from "./support/server.js"

const kafka = await kafkaBrokers()

const topic = uniqueTopic("relay.events")

/** The relay of the worker process, on the test database, publishing to a topic of this file's own. */
const relay = (brokers: ReadonlyArray<string>) =>
  OutboxRelayLive.pipe(
    Layer.provide(ProducerLive),
    Layer.provide(DatabaseLive),
    Layer.provide(TelemetryLive),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
    Layer.provide(
      Layer.setConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["DATABASE_URL", inject("databaseUrl")],
            ["DATABASE_POOL_SIZE", "2"],
            ["KAFKA_BROKERS", brokers.join(",")],
            ["KAFKA_TOPIC_EVENTS", topic],
            ["KAFKA_IDEMPOTENT_PRODUCER", "false"],
            // Only pg_notify can wake it in time: proves the wake-up works.
            ["OUTBOX_RELAY_POLL_INTERVAL", "1 hour"]
          ])
        )
      )
    )
  )

if ("skip" in kafka) {
  describe.skip(`outbox relay (${kafka.skip})`, () => {})
} else {
  const client = makeKafka(kafka.brokers)
  withServerLayer(Layer.merge(testServer(), relay(kafka.brokers)))("outbox relay", (it) => {
    it.effect(
      "publishes a send's event as the contract's envelope, keyed by user, with trace and correlation headers",
      () =>
        Effect.gen(function* () {
          const template = yield* raw(
            "/api/v1/templates",
            json("POST", { name: unique("relay"), type: "sms", body: "Code {{ code }}", variables: [{ name: "code" }] })
          )
          const userId = uniqueUserId()
          const sent = yield* raw(
            "/api/v1/notifications/send",
            json("POST", {
              user_id: userId,
              template_id: (template.body as { id: string }).id,
              variables: { code: "42" },
              recipient: { phone: "+447700900123" }
            })
          )
          expect(sent.status).toBe(202)
          const notificationId = (sent.body as { id: string }).id
          const requestId = sent.headers.get("x-request-id")

          const messages = yield* Effect.promise(() =>
            consumeUntil(client, topic, (seen) => seen.some((m) => m.value?.includes(notificationId) === true))
          )
          const record = messages.find((m) => m.value?.includes(notificationId) === true)
          expect(record?.key).toBe(String(userId))
          const decoded = decodeEvent(record?.value ?? "")
          expect(Either.isRight(decoded)).toBe(true)
          const envelope = Either.getOrThrow(decoded)
          expect(envelope).toMatchObject({
            event_type: "notification.accepted",
            aggregate_id: notificationId,
            user_id: userId,
            correlation_id: requestId,
            causation_id: null,
            version: 1,
            payload: { notification_id: notificationId, status: "pending", notification_type: "sms" }
          })
          expect(record?.headers).toMatchObject({
            event_type: "notification.accepted",
            event_id: envelope.event_id,
            "content-type": "application/json",
            correlation_id: requestId
          })
          expect(record?.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)

          const rows = yield* query<{ published_at: Date | null }>(
            "SELECT published_at FROM outbox_events WHERE id = $1",
            [envelope.event_id]
          )
          expect(rows[0]?.published_at).toBeInstanceOf(Date)
        })
    )

    it.effect("keeps one user's events in order", () =>
      Effect.gen(function* () {
        const template = yield* raw(
          "/api/v1/templates",
          json("POST", { name: unique("relay"), type: "push", body: "Hi" })
        )
        const userId = uniqueUserId()
        const ids: Array<string> = []
        for (let i = 0; i < 10; i++) {
          const sent = yield* raw(
            "/api/v1/notifications/send",
            json("POST", { user_id: userId, template_id: (template.body as { id: string }).id })
          )
          ids.push((sent.body as { id: string }).id)
        }
        const messages = yield* Effect.promise(() =>
          consumeUntil(client, topic, (seen) => seen.filter((m) => m.key === String(userId)).length >= ids.length)
        )
        const order = messages
          .filter((m) => m.key === String(userId))
          .map((m) => (JSON.parse(m.value ?? "{}") as { aggregate_id: string }).aggregate_id)
        expect(order).toEqual(ids)
        // Every event published so far — this file's and every other test file's, since they share
        // the database — matches the contract.
        const invalid = messages.filter((m) => Either.isLeft(decodeEvent(m.value ?? "")))
        expect(invalid.map((m) => m.value)).toEqual([])
      })
    )
  })
}
