import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { EventStoreConfig } from "./AppConfig.js"
import { CurrentCorrelation } from "./Correlation.js"
import { isUniqueViolation } from "./Sql.js"

/**
 * A notification's state as JSON keyed by the `notifications` columns. Events carry the columns
 * they change, so folding them (`evolve`) is a merge, and Postgres turns the result into a row
 * (`jsonb_populate_record`) exactly as the live write does: replay cannot drift from it.
 */
export type State = Readonly<Record<string, unknown>>

export interface StoredEvent {
  readonly aggregate_id: string
  readonly version: number
  readonly type: string
  readonly data: State
}

/** Another writer appended to the aggregate since it was read: re-read it and decide again. */
export class ConcurrencyConflict extends Schema.TaggedError<ConcurrencyConflict>()("ConcurrencyConflict", {
  aggregateId: Schema.String,
  expectedVersion: Schema.Number
}) {}

/** Every column of the `notifications` projection; a test checks it against the table. */
export const projectionColumns = [
  "id",
  "legacy_id",
  "user_id",
  "template_id",
  "template_version",
  "channel",
  "status",
  "priority",
  "recipient",
  "variables",
  "metadata",
  "status_reason",
  "error_message",
  "provider_message_id",
  "scheduled_at",
  "sent_at",
  "delivered_at",
  "failed_at",
  "created_at",
  "updated_at",
  "attempts",
  "provider",
  "content",
  "due_at",
  "lease_expires_at",
  "correlation_id",
  "legacy_position",
  "version"
] as const

/** The state after `event`: its columns over the state's, at its version. */
export const evolve = (state: State | undefined, event: Pick<StoredEvent, "version" | "data">): State => ({
  ...state,
  ...event.data,
  version: event.version
})

export const fold = (events: ReadonlyArray<Pick<StoredEvent, "version" | "data">>, from?: State): State | undefined =>
  events.reduce<State | undefined>(evolve, from)

/** Retries a command that hit a `ConcurrencyConflict`; each attempt must read its state afresh. */
export const retryOnConflict = <A, E, R>(command: Effect.Effect<A, E | ConcurrencyConflict, R>) =>
  Effect.retry(command, {
    while: (error) => error instanceof ConcurrencyConflict,
    schedule: Schedule.exponential("5 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))
  })

/** How a change moves the per-user counters: one notification out of one status, into another. */
export interface StatusMove {
  readonly userId: number
  readonly from: string | null
  readonly to: string
}

/**
 * The notification event store (`notification_events`, append-only, `(aggregate_id, version)`
 * unique) and the projections it feeds in the same transaction: the `notifications` row and the
 * per-user `notification_counts`. Callers run `create`/`append` inside their transaction.
 */
export class EventStore extends Effect.Service<EventStore>()("core/EventStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { snapshotEvery } = yield* EventStoreConfig
    const columns = sql.unsafe(projectionColumns.join(", "))
    const fromRecord = sql.unsafe(projectionColumns.map((column) => `r.${column}`).join(", "))
    const fromExcluded = sql.unsafe(projectionColumns.map((column) => `excluded.${column}`).join(", "))

    const insertEvent = (aggregateId: string, version: number, type: string, data: State) =>
      Effect.gen(function* () {
        const correlation = yield* FiberRef.get(CurrentCorrelation)
        const now = DateTime.toDateUtc(yield* DateTime.now)
        yield* sql`
          INSERT INTO notification_events (aggregate_id, version, type, data, correlation_id, causation_id, recorded_at)
          VALUES (${aggregateId}, ${version}, ${type}, ${JSON.stringify(data)}::jsonb,
            ${correlation?.correlationId ?? null}, ${correlation?.causationId ?? null}, ${now})`
      }).pipe(
        Effect.catchIf(isUniqueViolation, () =>
          Effect.fail(new ConcurrencyConflict({ aggregateId, expectedVersion: version - 1 }))
        )
      )

    // Sorted by status so that concurrent moves lock counter rows in one order: no deadlocks.
    const count = (move: StatusMove) => {
      const deltas = new Map<string, number>([[move.to, 1]])
      if (move.from !== null) deltas.set(move.from, (deltas.get(move.from) ?? 0) - 1)
      const rows = [...deltas].filter(([, delta]) => delta !== 0).sort(([a], [b]) => a.localeCompare(b))
      if (rows.length === 0) return Effect.void
      return sql`
        INSERT INTO notification_counts ${sql.insert(rows.map(([status, delta]) => ({ user_id: move.userId, status, count: delta })))}
        ON CONFLICT (user_id, status) DO UPDATE SET count = notification_counts.count + excluded.count`.pipe(
        Effect.asVoid
      )
    }

    const snapshotIfDue = (aggregateId: string, version: number) =>
      version % snapshotEvery === 0
        ? sql`
            INSERT INTO notification_snapshots (aggregate_id, version, state)
            SELECT id, version, to_jsonb(n) FROM notifications n WHERE id = ${aggregateId} AND version = ${version}
            ON CONFLICT DO NOTHING`.pipe(Effect.asVoid)
        : Effect.void

    /** The first event of a notification: its whole state. */
    const create = (aggregateId: string, type: string, state: State, move: StatusMove): Effect.Effect<void, SqlError> =>
      Effect.gen(function* () {
        // Ids are fresh UUIDv7s: a second version 1 is a bug, not a race.
        yield* insertEvent(aggregateId, 1, type, state).pipe(Effect.catchTag("ConcurrencyConflict", Effect.die))
        yield* sql`
          INSERT INTO notifications (${columns})
          SELECT ${fromRecord} FROM jsonb_populate_record(NULL::notifications, ${JSON.stringify(evolve(undefined, { version: 1, data: state }))}::jsonb) r`
        yield* count(move)
        yield* snapshotIfDue(aggregateId, 1)
      }).pipe(Effect.withSpan("EventStore.create", { attributes: { "event.type": type } }))

    /**
     * Appends the change `data` as version `expectedVersion + 1` and applies it to the projection.
     * Fails with `ConcurrencyConflict` when that version exists already: the caller's state is stale.
     */
    const append = (
      aggregateId: string,
      expectedVersion: number,
      type: string,
      data: State,
      move: StatusMove | undefined
    ): Effect.Effect<number, SqlError | ConcurrencyConflict> =>
      Effect.gen(function* () {
        const version = expectedVersion + 1
        // The projection first: its row lock serializes writers, and a writer that read an older
        // version matches no row here (instead of deadlocking on the event's key with the writer
        // that holds the lock).
        const updated = yield* sql`
          UPDATE notifications AS n SET (${columns}) =
            (SELECT ${fromRecord} FROM jsonb_populate_record(n, ${JSON.stringify({ ...data, version })}::jsonb) r)
          WHERE n.id = ${aggregateId} AND n.version = ${expectedVersion}
          RETURNING n.id`
        if (updated.length === 0) return yield* new ConcurrencyConflict({ aggregateId, expectedVersion })
        yield* insertEvent(aggregateId, version, type, data)
        if (move !== undefined) yield* count(move)
        yield* snapshotIfDue(aggregateId, version)
        return version
      }).pipe(Effect.withSpan("EventStore.append", { attributes: { "event.type": type } }))

    const events = (aggregateId: string, afterVersion = 0): Effect.Effect<ReadonlyArray<StoredEvent>, SqlError> =>
      sql<StoredEvent>`
        SELECT aggregate_id, version, type, data FROM notification_events
        WHERE aggregate_id = ${aggregateId} AND version > ${afterVersion} ORDER BY version`

    /** One aggregate's state from the store: the latest snapshot (unless told not to) plus later events. */
    const load = (
      aggregateId: string,
      options: { readonly snapshots: boolean } = { snapshots: true }
    ): Effect.Effect<Option.Option<State>, SqlError> =>
      Effect.gen(function* () {
        const snapshot = options.snapshots
          ? (yield* sql<{ readonly version: number; readonly state: State }>`
              SELECT version, state FROM notification_snapshots WHERE aggregate_id = ${aggregateId}
              ORDER BY version DESC LIMIT 1`)[0]
          : undefined
        const later = yield* events(aggregateId, snapshot?.version ?? 0)
        return Option.fromNullable(fold(later, snapshot?.state))
      }).pipe(Effect.withSpan("EventStore.load"))

    return { create, append, events, load, columns, fromRecord, fromExcluded } as const
  })
}) {}
