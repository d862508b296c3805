import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { decodeRows, IntFromPg, OutboxRelayConfig, outboxChannel } from "@notification-service/core"
import { EventEnvelope, EventHeaders, EventType, UserId } from "@notification-service/domain"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Queue from "effect/Queue"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { Message } from "kafkajs"
import { KafkaClient, Producer } from "./Kafka.js"

const OutboxRow = Schema.Struct({
  id: Schema.String,
  // Read as text: a row of a type this build does not know must not stop the relay.
  event_type: Schema.String,
  aggregate_id: Schema.String,
  user_id: Schema.compose(IntFromPg, UserId),
  payload: Schema.Unknown,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  headers: Schema.Record({ key: Schema.String, value: Schema.String }),
  created_at: Schema.DateFromSelf,
  correlation_id: Schema.NullOr(Schema.String),
  causation_id: Schema.NullOr(Schema.String),
  version: Schema.Int
})
type OutboxRow = typeof OutboxRow.Type

const encodeEnvelope = Schema.encodeSync(EventEnvelope)
const isEventType = Schema.is(EventType)

/** The outbox row as the contract's envelope and a Kafka record keyed by user (per-user order). */
export const toRecord = (row: OutboxRow): Message => {
  if (!isEventType(row.event_type)) throw new Error(`outbox event ${row.id} has unknown type ${row.event_type}`)
  const envelope = encodeEnvelope({
    event_id: row.id,
    event_type: row.event_type,
    aggregate_id: row.aggregate_id,
    user_id: row.user_id,
    correlation_id: row.correlation_id ?? row.id,
    causation_id: row.causation_id,
    payload: row.payload,
    metadata: row.metadata,
    timestamp: row.created_at.toISOString(),
    version: row.version
  })
  const headers: Record<string, string> = {
    [EventHeaders.eventType]: row.event_type,
    [EventHeaders.eventId]: row.id,
    [EventHeaders.contentType]: "application/json",
    [EventHeaders.correlationId]: envelope.correlation_id
  }
  for (const name of [EventHeaders.traceparent, EventHeaders.tracestate]) {
    const value = row.headers[name]
    if (value !== undefined) headers[name] = value
  }
  return { key: String(row.user_id), value: JSON.stringify(envelope), headers }
}

const published = Metric.counter("outbox_relay_published_total", {
  description: "Outbox events published to Kafka.",
  incremental: true
})
const failures = Metric.counter("outbox_relay_failures_total", {
  description: "Relay batches that failed (Kafka or database) and will be retried.",
  incremental: true
})
const lag = Metric.gauge("outbox_relay_lag_seconds", {
  description: "Age of the oldest unpublished outbox event, as of the last relay batch."
})

// Any fixed 64-bit key: the transaction-level advisory lock makes one relay at a time the leader.
const leaderLockKey = 0x6e6f7469

/**
 * Publishes outbox events to `notifications.events` in insertion order, then marks them
 * published — both inside one transaction that holds a transaction-level advisory lock, so with
 * several replicas exactly one relays at a time and a user's events are never reordered. A
 * failed publish rolls the batch back (nothing is marked) and is retried with backoff, so an
 * event is published at least once; consumers de-duplicate by `event_id`. `pg_notify` from the
 * appending transaction wakes the relay; otherwise it polls.
 */
export const makeOutboxRelay = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const pg = yield* PgClient.PgClient
  const { producer, compression } = yield* Producer
  const { config: kafka } = yield* KafkaClient
  const config = yield* OutboxRelayConfig
  const wake = yield* Queue.sliding<void>(1)
  const stopping = yield* Ref.make(false)

  const batch = Effect.gen(function* () {
    const [lock] = yield* sql<{
      readonly leader: boolean
    }>`SELECT pg_try_advisory_xact_lock(${leaderLockKey}) AS leader`
    if (lock?.leader !== true) return 0
    const rows = yield* sql`
      SELECT id, event_type, aggregate_id, user_id, payload, metadata, headers, created_at, correlation_id,
        causation_id, version
      FROM outbox_events WHERE published_at IS NULL ORDER BY seq LIMIT ${config.batchSize}`.pipe(
      Effect.flatMap(decodeRows(OutboxRow))
    )
    if (rows.length === 0) {
      yield* Metric.set(lag, 0)
      return 0
    }
    const oldest = rows[0]?.created_at.getTime() ?? Date.now()
    yield* Metric.set(lag, Math.max(0, (Date.now() - oldest) / 1000))
    // A row that cannot become an envelope is a bug upstream: it fails the batch (and is retried,
    // logged, and counted) instead of being published malformed or dropped.
    const messages = yield* Effect.try(() => rows.map(toRecord))
    yield* Effect.tryPromise(() => producer.send({ topic: kafka.topics.events, acks: -1, compression, messages })).pipe(
      Effect.withSpan("OutboxRelay.publish", { attributes: { "messaging.batch.message_count": rows.length } })
    )
    yield* sql`UPDATE outbox_events SET published_at = now(), attempts = attempts + 1 WHERE id IN ${sql.in(rows.map((r) => r.id))}`
    yield* Metric.update(published, rows.length)
    return rows.length
  }).pipe(sql.withTransaction)

  const idle = Effect.raceFirst(Queue.take(wake), Effect.sleep(config.pollInterval))

  const loop = Effect.gen(function* () {
    while (!(yield* Ref.get(stopping))) {
      const count = yield* batch.pipe(
        // Defects (a row that does not decode) are retried and reported like failures: the loop must live.
        Effect.catchAllDefect((defect) => Effect.fail(new Error(`relay defect: ${String(defect)}`))),
        Effect.tapErrorCause((cause) =>
          Effect.zipRight(Metric.update(failures, 1), Effect.logWarning("outbox relay batch failed; retrying", cause))
        ),
        Effect.retry(
          Schedule.exponential("200 millis", 2).pipe(
            Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.seconds(30))),
            Schedule.whileInput(() => true)
          )
        ),
        Effect.orDie
      )
      if (count < config.batchSize && !(yield* Ref.get(stopping))) yield* idle
    }
  })

  const listener = yield* pg.listen(outboxChannel).pipe(
    Stream.runForEach(() => Queue.offer(wake, undefined)),
    Effect.catchAllCause((cause) => Effect.logWarning("outbox LISTEN stopped; polling only", cause)),
    Effect.forkScoped
  )

  const retention = Duration.toSeconds(config.retention)
  // Published events and the consumers' ledger are kept `OUTBOX_RETENTION`: long enough for any
  // redelivery of a message to still find its ledger row.
  const prune = yield* Effect.all([
    sql`
      DELETE FROM outbox_events WHERE id IN (
        SELECT id FROM outbox_events
        WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => ${retention})
        LIMIT 10000)`,
    sql`
      DELETE FROM processed_messages WHERE (consumer, event_id) IN (
        SELECT consumer, event_id FROM processed_messages
        WHERE processed_at < now() - make_interval(secs => ${retention}) LIMIT 10000)`
  ]).pipe(
    Effect.catchAllCause((cause) => Effect.logWarning("outbox prune failed", cause)),
    Effect.repeat(Schedule.spaced(config.pruneInterval)),
    Effect.delay(config.pruneInterval),
    Effect.forkScoped
  )

  const fiber = yield* Effect.forkScoped(loop)
  yield* Effect.logInfo("outbox relay started").pipe(Effect.annotateLogs({ topic: kafka.topics.events }))
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      yield* Ref.set(stopping, true)
      yield* Queue.offer(wake, undefined)
      yield* Fiber.interrupt(listener)
      yield* Fiber.interrupt(prune)
      // The batch in flight either commits or rolls back; either way nothing is lost.
      yield* Fiber.await(fiber).pipe(Effect.timeout("10 seconds"), Effect.ignore)
      yield* Fiber.interrupt(fiber)
      yield* Effect.logInfo("outbox relay stopped")
    })
  )
})

export const OutboxRelayLive = Layer.scopedDiscard(makeOutboxRelay)
