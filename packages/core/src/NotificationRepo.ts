import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import {
  type Channel,
  Notification,
  type NotificationId,
  type NotificationStatus,
  UserId
} from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { CurrentCorrelation } from "./Correlation.js"
import { type ConcurrencyConflict, EventStore } from "./EventStore.js"
import { decodeRows, IntFromPg } from "./Sql.js"

/** The API's fields, as `pg` returns them: `bigint` as text, `timestamptz` as `Date`. */
const NotificationRow = Schema.Struct({
  ...Notification.fields,
  user_id: Schema.compose(IntFromPg, UserId),
  scheduled_at: Schema.NullOr(Schema.DateTimeUtcFromDate),
  sent_at: Schema.NullOr(Schema.DateTimeUtcFromDate),
  delivered_at: Schema.NullOr(Schema.DateTimeUtcFromDate),
  failed_at: Schema.NullOr(Schema.DateTimeUtcFromDate),
  created_at: Schema.DateTimeUtcFromDate,
  updated_at: Schema.DateTimeUtcFromDate
})

// The row schema has just validated every field; the class would validate them all again.
const toNotifications = (rows: ReadonlyArray<unknown>) =>
  Effect.map(decodeRows(NotificationRow)(rows), (decoded) =>
    decoded.map((row) => new Notification(row, { disableValidation: true }))
  )

const date = (value: DateTime.Utc | null): Date | null => (value === null ? null : new Date(value.epochMillis))
const isoOrNull = (value: Date | null): string | null => (value === null ? null : value.toISOString())
const encode: (n: Notification) => Readonly<Record<string, unknown>> = Schema.encodeSync(Notification)

/** A notification and the event version it is at: what a change to it appends after. */
export interface Versioned {
  readonly notification: Notification
  readonly version: number
}

/** When a notification in this state is due for dispatch: pending now, scheduled at its time. */
export const defaultDueAt = (n: Notification): Date | null =>
  n.status === "pending"
    ? new Date(n.updated_at.epochMillis)
    : n.status === "scheduled"
      ? date(n.scheduled_at ?? n.updated_at)
      : null

export interface NotificationListQuery {
  readonly userId: UserId
  readonly limit: number
  readonly before: readonly [createdAt: string, id: string] | undefined
  readonly status: NotificationStatus | undefined
  readonly channel: Channel | undefined
  readonly from: DateTime.Utc | undefined
  readonly to: DateTime.Utc | undefined
}

export class NotificationRepo extends Effect.Service<NotificationRepo>()("core/NotificationRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore
    const columns = sql`id, legacy_id, user_id, template_id, template_version, channel, status, priority, recipient, variables,
      metadata, status_reason, error_message, provider_message_id, provider, attempts, content, scheduled_at, sent_at,
      delivered_at, failed_at, created_at, updated_at`

    /** A new notification: its first event, and its projection row. `dueAt` defaults to `defaultDueAt`. */
    const create = (
      n: Notification,
      type: string,
      dueAt: Date | null = defaultDueAt(n)
    ): Effect.Effect<Versioned, SqlError> =>
      Effect.gen(function* () {
        const correlation = yield* FiberRef.get(CurrentCorrelation)
        yield* store.create(
          n.id,
          type,
          {
            ...encode(n),
            due_at: isoOrNull(dueAt),
            lease_expires_at: null,
            // The creating request's (or command's) correlation id, for the events of later changes.
            correlation_id: correlation?.correlationId ?? null
          },
          { userId: n.user_id, from: null, to: n.status }
        )
        return { notification: n, version: 1 }
      }).pipe(Effect.withSpan("NotificationRepo.create"))

    const findById = (id: NotificationId): Effect.Effect<Option.Option<Notification>, SqlError> =>
      sql`SELECT ${columns} FROM notifications WHERE id = ${id}`.pipe(
        Effect.flatMap(toNotifications),
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.withSpan("NotificationRepo.findById")
      )

    /** The notification and the event version it is at, for a change to it. */
    const findVersioned = (id: NotificationId): Effect.Effect<Option.Option<Versioned>, SqlError> =>
      sql<{ readonly version: number }>`SELECT ${columns}, version FROM notifications WHERE id = ${id}`.pipe(
        Effect.flatMap((rows) =>
          Effect.map(toNotifications(rows), (notifications) =>
            Option.map(Option.fromNullable(notifications[0]), (notification) => ({
              notification,
              version: rows[0]?.version ?? 0
            }))
          )
        ),
        Effect.withSpan("NotificationRepo.findVersioned")
      )

    const listForUser = (query: NotificationListQuery): Effect.Effect<ReadonlyArray<Notification>, SqlError> => {
      const conditions = [sql`user_id = ${query.userId}`]
      if (query.status !== undefined) conditions.push(sql`status = ${query.status}`)
      if (query.channel !== undefined) conditions.push(sql`channel = ${query.channel}`)
      if (query.from !== undefined) conditions.push(sql`created_at >= ${date(query.from)}`)
      if (query.to !== undefined) conditions.push(sql`created_at < ${date(query.to)}`)
      if (query.before !== undefined) {
        conditions.push(sql`(created_at, id) < (${query.before[0]}::timestamptz, ${query.before[1]}::uuid)`)
      }
      return sql`
        SELECT ${columns} FROM notifications WHERE ${sql.and(conditions)}
        ORDER BY created_at DESC, id DESC LIMIT ${query.limit}`.pipe(
        Effect.flatMap(toNotifications),
        Effect.withSpan("NotificationRepo.listForUser")
      )
    }

    /**
     * Records the change from `previous` to `next` as event `type`: the fields that changed, plus
     * `dueAt` (when a pending or scheduled notification may next be dispatched) and `leaseUntil`
     * (holds a `sending` one for its dispatcher). Fails with `ConcurrencyConflict` when another
     * writer changed the notification after `previous` was read.
     */
    const change = (
      previous: Versioned,
      next: Notification,
      type: string,
      options: { readonly dueAt?: Date | null; readonly leaseUntil?: Date | null } = {}
    ): Effect.Effect<Versioned, SqlError | ConcurrencyConflict> =>
      Effect.gen(function* () {
        const before = encode(previous.notification)
        const after = encode(next)
        const changed = Object.fromEntries(
          Object.entries(after).filter(([field, value]) => JSON.stringify(value) !== JSON.stringify(before[field]))
        )
        const version = yield* store.append(
          next.id,
          previous.version,
          type,
          {
            ...changed,
            due_at: isoOrNull(options.dueAt === undefined ? defaultDueAt(next) : options.dueAt),
            lease_expires_at: isoOrNull(options.leaseUntil ?? null)
          },
          previous.notification.status === next.status
            ? undefined
            : { userId: next.user_id, from: previous.notification.status, to: next.status }
        )
        return { notification: next, version }
      }).pipe(Effect.withSpan("NotificationRepo.change"))

    /**
     * Ids of notifications a dispatcher may take now, oldest due first: pending or scheduled ones
     * whose time has come, and `sending` ones whose dispatcher's lease lapsed (it crashed). With a
     * `freshPendingGrace`, a just-accepted notification is left that long to whoever dispatches
     * accepted events (the Kafka consumer), so the poller only catches what it missed.
     */
    const dueIds = (
      now: DateTime.Utc,
      limit: number,
      freshPendingGrace: Duration.Duration = Duration.zero
    ): Effect.Effect<ReadonlyArray<NotificationId>, SqlError> =>
      sql<{ readonly id: NotificationId }>`
        (SELECT id, due_at AS at FROM notifications
          WHERE status IN ('pending', 'scheduled') AND due_at <= ${date(now)}
            AND (status = 'scheduled' OR attempts > 0
              OR due_at <= ${date(DateTime.subtractDuration(now, freshPendingGrace))})
          ORDER BY due_at LIMIT ${limit})
        UNION ALL
        (SELECT id, lease_expires_at AS at FROM notifications
          WHERE status = 'sending' AND lease_expires_at <= ${date(now)} ORDER BY lease_expires_at LIMIT ${limit})
        ORDER BY at LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map((row) => row.id)),
        Effect.withSpan("NotificationRepo.dueIds")
      )

    /**
     * Inside a transaction: locks the notification if it is due and no other dispatcher holds it.
     * `SKIP LOCKED` makes a competing dispatcher pass over it instead of waiting, and the status
     * condition makes a second claim of the same notification find nothing.
     */
    const claimDue = (
      id: NotificationId,
      now: DateTime.Utc
    ): Effect.Effect<Option.Option<Versioned & { readonly correlationId: string | null }>, SqlError> =>
      sql<{ readonly correlation_id: string | null; readonly version: number }>`
        SELECT ${columns}, correlation_id, version FROM notifications
        WHERE id = ${id} AND ((status IN ('pending', 'scheduled') AND due_at <= ${date(now)})
          OR (status = 'sending' AND lease_expires_at <= ${date(now)}))
        FOR UPDATE SKIP LOCKED`.pipe(
        Effect.flatMap((rows) =>
          Effect.map(toNotifications(rows), (notifications) =>
            Option.map(Option.fromNullable(notifications[0]), (notification) => ({
              notification,
              version: rows[0]?.version ?? 0,
              correlationId: rows[0]?.correlation_id ?? null
            }))
          )
        ),
        Effect.withSpan("NotificationRepo.claimDue")
      )

    const queueSizes: Effect.Effect<{ readonly pending: number; readonly scheduled: number }, SqlError> = sql<{
      readonly status: string
      readonly count: string
    }>`SELECT status, count(*) AS count FROM notifications WHERE status IN ('pending', 'scheduled') GROUP BY status`.pipe(
      Effect.map((rows) => {
        const count = (status: string) => Number(rows.find((row) => row.status === status)?.count ?? 0)
        return { pending: count("pending"), scheduled: count("scheduled") }
      }),
      Effect.withSpan("NotificationRepo.queueSizes")
    )

    return { create, findById, findVersioned, listForUser, change, dueIds, claimDue, queueSizes } as const
  }),
  dependencies: [EventStore.Default]
}) {}
