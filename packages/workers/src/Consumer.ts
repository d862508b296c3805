import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { withCorrelation } from "@notification-service/core"
import { type DecodedEvent, decodeEvent, type UndecodableEvent } from "@notification-service/domain"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import type { IHeaders, KafkaMessage } from "kafkajs"
import { KafkaClient, Producer } from "./Kafka.js"

/** Worth trying again: the database or a dependency is briefly unavailable. */
export class RetryableFailure extends Schema.TaggedError<RetryableFailure>()("RetryableFailure", {
  message: Schema.String
}) {}

/** Will never succeed: the message goes to the dead-letter topic. */
export class PermanentFailure extends Schema.TaggedError<PermanentFailure>()("PermanentFailure", {
  reason: Schema.String,
  message: Schema.String
}) {}

export type HandlerError = RetryableFailure | PermanentFailure

export interface ConsumerDefinition<A, R> {
  /** Names the consumer group (`<client id>.<name>`) and the `processed_messages` ledger. */
  readonly name: string
  readonly topic: string
  readonly partitionsConsumedConcurrently: number
  /** The record's value as a message of this topic; a failure dead-letters the record. */
  readonly decode: (value: string) => Either.Either<A, UndecodableEvent>
  readonly identify: (message: A) => { readonly eventId: string; readonly correlationId: string }
  /**
   * Applies one decoded event. Runs inside a transaction that also records the event id, so the
   * effect and "processed" commit together; a redelivered event is skipped before it runs.
   * Handlers that must call out (providers) mark themselves `transactional: false` and rely on
   * their own claim instead.
   */
  /** `"ignored"`: not for this consumer; no ledger row is written for it. */
  readonly handle: (message: A) => Effect.Effect<unknown, HandlerError, R>
  readonly transactional?: boolean
}

/** Decoding and identity for topics that carry the service's own event envelope. */
export const envelopeMessages = {
  decode: decodeEvent,
  identify: (event: DecodedEvent) => ({ eventId: event.event_id, correlationId: event.correlation_id })
} as const

const consumed = Metric.counter("kafka_messages_consumed_total", {
  description: "Records handled, by consumer and outcome (processed, duplicate, dead_lettered).",
  incremental: true
})

const headerValue = (headers: IHeaders | undefined, name: string): string | undefined => {
  const value = headers?.[name]
  if (value === undefined) return undefined
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined ? undefined : first.toString()
}

/** The producer's span from a W3C `traceparent` header, so the consumer span joins its trace. */
export const parentFromHeaders = (headers: IHeaders | undefined): Option.Option<Tracer.ExternalSpan> => {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(headerValue(headers, "traceparent") ?? "")
  if (match === null) return Option.none()
  const [, traceId = "", spanId = "", flags = "00"] = match
  return Option.some(Tracer.externalSpan({ traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 }))
}

const sqlRetryable = (error: SqlError) => new RetryableFailure({ message: `database: ${error.message}` })

/**
 * Runs a consumer group for the life of the scope. Per record: decode the envelope (poison ->
 * dead-letter topic), skip an event id already in `processed_messages`, apply the handler in one
 * transaction with the ledger row, then commit the offset — only once the effect is durable.
 * Retryable failures back off on that partition alone; permanent ones are dead-lettered with the
 * original key, value and headers plus `dlq.*` headers. On shutdown it stops fetching, lets the
 * records in flight finish and commits their offsets.
 */
export const runConsumer = <A, R>(definition: ConsumerDefinition<A, R>) =>
  Effect.gen(function* () {
    const { kafka, config } = yield* KafkaClient
    const { producer } = yield* Producer
    const sql = yield* SqlClient.SqlClient
    const runtime = yield* Effect.runtime<R>()
    const groupId = `${config.clientId}.${definition.name}`
    const tags = (outcome: string) =>
      consumed.pipe(Metric.tagged("consumer", definition.name), Metric.tagged("outcome", outcome))

    const deadLetter = (topic: string, partition: number, message: KafkaMessage, error: PermanentFailure) =>
      Effect.tryPromise(() =>
        producer.send({
          topic: `${topic}.dlq`,
          acks: -1,
          messages: [
            {
              key: message.key,
              value: message.value,
              headers: {
                ...message.headers,
                "dlq.original.topic": topic,
                "dlq.original.partition": String(partition),
                "dlq.original.offset": message.offset,
                "dlq.exception.class": error.reason,
                "dlq.exception.message": error.message,
                "dlq.failed_at": new Date().toISOString(),
                "dlq.consumer_group": groupId
              }
            }
          ]
        })
      ).pipe(
        Effect.zipRight(Metric.update(tags("dead_lettered"), 1)),
        Effect.zipRight(
          Effect.logWarning("message dead-lettered").pipe(
            Effect.annotateLogs({
              topic,
              partition,
              offset: message.offset,
              reason: error.reason,
              error: error.message
            })
          )
        ),
        Effect.mapError((cause) => new RetryableFailure({ message: `dead-letter publish failed: ${String(cause)}` }))
      )

    const record = (eventId: string) => sql`
      INSERT INTO processed_messages (consumer, event_id) VALUES (${definition.name}, ${eventId})
      ON CONFLICT DO NOTHING RETURNING event_id`

    // The ledger row and the effect commit together, so a redelivery finds the row and skips.
    const applyInTransaction = (message: A, eventId: string) =>
      Effect.gen(function* () {
        const [fresh] = yield* record(eventId)
        if (fresh === undefined) return "duplicate" as const
        yield* definition.handle(message)
        return "processed" as const
      }).pipe(sql.withTransaction)

    // For handlers that call out and guard themselves (a claim): recorded once they succeed.
    const applyThenRecord = (message: A, eventId: string) =>
      Effect.gen(function* () {
        const seen =
          yield* sql`SELECT 1 FROM processed_messages WHERE consumer = ${definition.name} AND event_id = ${eventId}`
        if (seen.length > 0) return "duplicate" as const
        if ((yield* definition.handle(message)) === "ignored") return "ignored" as const
        yield* record(eventId)
        return "processed" as const
      })

    const applyOnce = (message: A, eventId: string) =>
      (definition.transactional === false
        ? applyThenRecord(message, eventId)
        : applyInTransaction(message, eventId)
      ).pipe(Effect.catchTag("SqlError", (error) => Effect.fail(sqlRetryable(error))))

    const processRecord = (topic: string, partition: number, message: KafkaMessage) =>
      Effect.gen(function* () {
        const decoded = definition.decode(message.value?.toString("utf8") ?? "")
        if (Either.isLeft(decoded)) {
          return yield* deadLetter(
            topic,
            partition,
            message,
            new PermanentFailure({ reason: "UndecodableEvent", message: decoded.left.message })
          )
        }
        const { eventId, correlationId } = definition.identify(decoded.right)
        const outcome = yield* applyOnce(decoded.right, eventId).pipe(
          withCorrelation({ correlationId, causationId: eventId }),
          // Retryable trouble holds this partition only, with capped backoff, until shutdown.
          Effect.retry({
            while: (error) => error._tag === "RetryableFailure",
            schedule: Schedule.exponential("200 millis", 2).pipe(
              Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.seconds(30)))
            )
          }),
          Effect.catchTag("PermanentFailure", (error) =>
            Effect.as(deadLetter(topic, partition, message, error), "dead_lettered" as const)
          )
        )
        if (outcome !== "dead_lettered") yield* Metric.update(tags(outcome), 1)
      }).pipe((self) => {
        const spanned = Effect.withSpan(self, `${definition.topic} process`, {
          kind: "consumer",
          attributes: {
            "messaging.system": "kafka",
            "messaging.operation": "process",
            "messaging.destination.name": topic,
            "messaging.kafka.consumer.group": groupId,
            "messaging.kafka.destination.partition": partition,
            "messaging.kafka.message.offset": Number(message.offset),
            "messaging.kafka.message.key": message.key?.toString("utf8") ?? "",
            "messaging.message.id": headerValue(message.headers, "event_id") ?? ""
          }
        })
        return Option.match(parentFromHeaders(message.headers), {
          onNone: () => spanned,
          onSome: (parent) => Effect.withParentSpan(spanned, parent)
        })
      })

    const sessionTimeout = Duration.toMillis(config.sessionTimeout)
    const consumer = kafka.consumer({
      groupId,
      maxWaitTimeInMs: 500,
      sessionTimeout,
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 5))
    })
    const abort = new AbortController()
    yield* Effect.acquireRelease(
      Effect.gen(function* () {
        yield* Effect.tryPromise(() => consumer.connect())
        yield* Effect.tryPromise(() => consumer.subscribe({ topic: definition.topic, fromBeginning: true }))
        yield* Effect.tryPromise(() =>
          consumer.run({
            autoCommit: false,
            partitionsConsumedConcurrently: definition.partitionsConsumedConcurrently,
            eachMessage: async ({ topic, partition, message }) => {
              const exit = await Runtime.runPromiseExit(runtime)(processRecord(topic, partition, message), {
                signal: abort.signal
              })
              if (exit._tag === "Failure") {
                // Interrupted by shutdown, or a defect: not committed, so it is redelivered.
                throw Cause.squash(exit.cause)
              }
              await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }])
            }
          })
        )
        yield* Effect.logInfo("consumer started").pipe(
          Effect.annotateLogs({ consumer: definition.name, topic: definition.topic, group: groupId })
        )
      }),
      () =>
        Effect.gen(function* () {
          // kafkajs's disconnect stops fetching and waits for the records in flight; records
          // stuck retrying are interrupted instead and will be redelivered.
          const stopped = yield* Effect.promise(() => consumer.disconnect()).pipe(
            Effect.timeout("10 seconds"),
            Effect.option
          )
          if (stopped._tag === "None") {
            abort.abort()
            yield* Effect.promise(() => consumer.disconnect())
          }
          yield* Effect.logInfo("consumer stopped").pipe(Effect.annotateLogs({ consumer: definition.name }))
        })
    )
  })
