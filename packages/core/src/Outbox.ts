import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import type { Notification } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import { CurrentCorrelation } from "./Correlation.js"
import { makeUuidv7 } from "./Uuid.js"

/** The `LISTEN`/`NOTIFY` channel the outbox relay waits on. */
export const outboxChannel = "outbox_events"

export interface OutboxEvent {
  readonly eventType: string
  readonly aggregateType: string
  readonly aggregateId: string
  readonly userId: number
  readonly payload: unknown
  /** Facts about how the change happened rather than what changed, e.g. `{ provider, message_id }`. */
  readonly metadata?: Readonly<Record<string, unknown>>
}

/**
 * Events are written in the same transaction as the state change they describe; the relay
 * (workers) publishes them to Kafka afterwards, so an accepted change is never lost.
 */
export class Outbox extends Effect.Service<Outbox>()("core/Outbox", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const append = (event: OutboxEvent): Effect.Effect<string, SqlError> =>
      Effect.gen(function* () {
        const id = yield* makeUuidv7
        const now = DateTime.toDateUtc(yield* DateTime.now)
        const correlation = yield* FiberRef.get(CurrentCorrelation)
        const traceparent = yield* Effect.currentSpan.pipe(
          Effect.option,
          Effect.map(Option.map((span) => `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`))
        )
        yield* sql`
          INSERT INTO outbox_events (id, event_type, aggregate_type, aggregate_id, user_id, payload, metadata, headers,
            created_at, correlation_id, causation_id, version)
          VALUES (${id}, ${event.eventType}, ${event.aggregateType}, ${event.aggregateId}, ${event.userId},
                  ${JSON.stringify(event.payload)}::jsonb, ${JSON.stringify(event.metadata ?? {})}::jsonb,
                  ${JSON.stringify(Option.isSome(traceparent) ? { traceparent: traceparent.value } : {})}::jsonb,
                  ${now}, ${correlation?.correlationId ?? id}, ${correlation?.causationId ?? null}, 1)`
        // Delivered on commit: wakes the relay without it polling tightly.
        // A non-empty payload: @effect/sql-pg's listen drops empty ones.
        yield* sql`SELECT pg_notify(${outboxChannel}, ${id})`
        return id
      }).pipe(Effect.withSpan("Outbox.append"))

    /**
     * An event about a notification: the contract's common payload fields (`notification_id`,
     * `status`, `notification_type`) plus the type's own.
     */
    const appendForNotification = (
      n: Pick<Notification, "id" | "user_id" | "status" | "channel">,
      type: string,
      payload: Readonly<Record<string, unknown>>,
      metadata?: Readonly<Record<string, unknown>>
    ): Effect.Effect<void, SqlError> =>
      append({
        eventType: `notification.${type}`,
        aggregateType: "notification",
        aggregateId: n.id,
        userId: n.user_id,
        payload: { notification_id: n.id, status: n.status, notification_type: n.channel, ...payload },
        ...(metadata === undefined ? {} : { metadata })
      }).pipe(Effect.asVoid)

    return { append, appendForNotification } as const
  })
}) {}
