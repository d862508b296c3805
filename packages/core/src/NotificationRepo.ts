import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import {
  type Channel,
  Notification,
  type NotificationId,
  type NotificationStatus,
  UserId
} from "@notification-service/domain"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
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
const json = (value: unknown): string | null => (value === null ? null : JSON.stringify(value))

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
    const columns = sql`id, user_id, template_id, template_version, channel, status, priority, recipient, variables,
      metadata, status_reason, error_message, provider_message_id, scheduled_at, sent_at, delivered_at, failed_at,
      created_at, updated_at`

    const insert = (n: Notification): Effect.Effect<void, SqlError> =>
      sql`
        INSERT INTO notifications (id, user_id, template_id, template_version, channel, status, priority, recipient,
          variables, metadata, status_reason, error_message, provider_message_id, scheduled_at, sent_at, delivered_at,
          failed_at, created_at, updated_at)
        VALUES (${n.id}, ${n.user_id}, ${n.template_id}, ${n.template_version}, ${n.channel}, ${n.status}, ${n.priority},
          ${json(n.recipient)}::jsonb, ${json(n.variables)}::jsonb, ${json(n.metadata)}::jsonb, ${n.status_reason},
          ${n.error_message}, ${n.provider_message_id}, ${date(n.scheduled_at)}, ${date(n.sent_at)},
          ${date(n.delivered_at)}, ${date(n.failed_at)}, ${date(n.created_at)}, ${date(n.updated_at)})`.pipe(
        Effect.asVoid,
        Effect.withSpan("NotificationRepo.insert")
      )

    const find = (id: NotificationId, lock: boolean): Effect.Effect<Option.Option<Notification>, SqlError> =>
      sql`SELECT ${columns} FROM notifications WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`.pipe(
        Effect.flatMap(toNotifications),
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.withSpan("NotificationRepo.find")
      )

    const findById = (id: NotificationId) => find(id, false)
    /** Inside a transaction: the row stays locked until commit, so status updates serialize. */
    const findByIdForUpdate = (id: NotificationId) => find(id, true)

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

    const updateStatus = (n: Notification): Effect.Effect<void, SqlError> =>
      sql`
        UPDATE notifications SET status = ${n.status}, status_reason = ${n.status_reason},
          error_message = ${n.error_message}, provider_message_id = ${n.provider_message_id},
          sent_at = ${date(n.sent_at)}, delivered_at = ${date(n.delivered_at)}, failed_at = ${date(n.failed_at)},
          updated_at = ${date(n.updated_at)}
        WHERE id = ${n.id}`.pipe(Effect.asVoid, Effect.withSpan("NotificationRepo.updateStatus"))

    return { insert, findById, findByIdForUpdate, listForUser, updateStatus } as const
  })
}) {}
