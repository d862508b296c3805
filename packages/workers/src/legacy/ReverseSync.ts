import { SqlClient } from "@effect/sql"
import { EventStore, LegacyMapping, retryOnConflict } from "@notification-service/core"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { type BridgeConfig, changesApplied, changesPending, lagSeconds, tagged } from "./Bridge.js"
import { readPosition, savePosition } from "./Position.js"

const name = "reverse:notifications"

/** Events that came from the monolith (or record a link to it): nothing to send back. */
const fromLegacy = ["notification.imported", "notification.legacy_synced", "notification.legacy_linked"]

interface ServiceRow {
  readonly id: string
  readonly legacy_id: number | null
  readonly user_id: number
  readonly template_legacy_id: number | null
  readonly type: string
  readonly status: string
  readonly sent_at: string | null
  readonly error_message: string | null
  readonly metadata: Record<string, unknown>
}

/**
 * The reverse direction, for the rollback window once the monolith sends through the service:
 * every notification changed in the service is written back into `notifications_notificationlog`
 * as it is now (statuses mapped to the legacy CHECK set, times as naive wall-clock time in the
 * monolith's zone), so the monolith can be switched back at any moment and read everything that
 * happened meanwhile. It reads the event store by transaction horizon (whole transactions, never
 * one committed late), writes with `notifications.sync_origin = 'service'` so the monolith's
 * change log does not echo the rows back, and links a new log to its notification with a
 * `notification.legacy_linked` event. A retried write finds its log by the service id kept in
 * the log's metadata, so a crash between the two databases never duplicates a log.
 */
export const reverseStep = (config: BridgeConfig) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const legacy = yield* LegacyMapping.LegacySql
    const store = yield* EventStore
    const { timeZone } = yield* LegacyMapping.LegacyConfig
    const from = yield* readPosition(sql, name)
    const events = yield* sql<{ readonly aggregate_id: string; readonly txid: number; readonly type: string }>`
      SELECT aggregate_id::text, txid::float8 AS txid, type FROM notification_events
      WHERE txid IN (
        SELECT DISTINCT txid FROM notification_events
        WHERE txid > ${from.txid} AND txid < txid_snapshot_xmin(txid_current_snapshot())
        ORDER BY txid LIMIT ${config.batchSize})`
    if (events.length === 0) return 0
    const horizon = Math.max(...events.map((event) => event.txid))
    const ids = [...new Set(events.filter((event) => !fromLegacy.includes(event.type)).map((e) => e.aggregate_id))]
    const rows =
      ids.length === 0
        ? []
        : yield* sql<ServiceRow>`
            SELECT n.id::text, n.legacy_id, n.user_id::int, t.legacy_id AS template_legacy_id, n.channel AS type,
              ${LegacyMapping.legacyStatusOf(sql, "n.status")} AS status,
              to_char(n.sent_at AT TIME ZONE ${timeZone}, 'YYYY-MM-DD HH24:MI:SS.US') AS sent_at,
              n.error_message, n.metadata
            FROM notifications n LEFT JOIN templates t ON t.id = n.template_id
            WHERE n.id = ANY(${ids}::uuid[]) ORDER BY n.id`
    // One legacy transaction per batch; its writes are marked so the change log skips them.
    const written = yield* legacy`SELECT set_config('notifications.sync_origin', 'service', true)`.pipe(
      Effect.zipRight(Effect.forEach(rows, (row) => writeBack(legacy, row))),
      legacy.withTransaction
    )
    yield* Effect.forEach(
      written.filter((link) => link.linked),
      (link) =>
        retryOnConflict(
          Effect.gen(function* () {
            const [current] = yield* sql<{ readonly version: number; readonly legacy_id: number | null }>`
              SELECT version, legacy_id FROM notifications WHERE id = ${link.id}`
            if (current === undefined || current.legacy_id === link.legacyId) return
            yield* store.append(
              link.id,
              current.version,
              "notification.legacy_linked",
              { legacy_id: link.legacyId },
              undefined
            )
          }).pipe(sql.withTransaction)
        ),
      { discard: true }
    )
    yield* Metric.update(
      tagged(changesApplied, "reverse", "notifications").pipe(Metric.tagged("outcome", "written")),
      rows.length
    )
    yield* savePosition(sql, name, { txid: horizon, seq: 0 })
    return events.length
  }).pipe(Effect.withSpan("ReverseSync.step"))

const writeBack = (legacy: SqlClient.SqlClient, row: ServiceRow) =>
  Effect.gen(function* () {
    const metadata = JSON.stringify({ ...row.metadata, [LegacyMapping.reverseSyncKey]: row.id })
    const values = legacy`user_id = ${row.user_id}, template_id = ${row.template_legacy_id}, type = ${row.type},
      status = ${row.status}, sent_at = ${row.sent_at}::timestamp, error_message = ${row.error_message},
      metadata = ${metadata}::jsonb`
    const target =
      row.legacy_id ??
      (yield* legacy<{ readonly id: number }>`
        SELECT id FROM notifications_notificationlog
        WHERE metadata ? ${LegacyMapping.reverseSyncKey} AND metadata ->> ${LegacyMapping.reverseSyncKey} = ${row.id}`)[0]
        ?.id
    const updated =
      target === undefined
        ? []
        : yield* legacy<{ readonly id: number }>`UPDATE notifications_notificationlog SET ${values}
            WHERE id = ${target} RETURNING id`
    const legacyId =
      updated[0]?.id ??
      (yield* legacy<{ readonly id: number }>`
        INSERT INTO notifications_notificationlog (user_id, template_id, type, status, sent_at, error_message, metadata)
        VALUES (${row.user_id}, ${row.template_legacy_id}, ${row.type}, ${row.status}, ${row.sent_at}::timestamp,
          ${row.error_message}, ${metadata}::jsonb)
        RETURNING id`)[0]?.id ??
      0
    return { id: row.id, legacyId, linked: row.legacy_id !== legacyId }
  })

/** Lag and backlog of the reverse direction, for the metrics. */
export const reverseLag = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const from = yield* readPosition(sql, name)
  const [lag] = yield* sql<{ readonly pending: number; readonly seconds: number | null }>`
    SELECT count(*)::int AS pending, extract(epoch FROM clock_timestamp() - min(recorded_at))::float8 AS seconds
    FROM notification_events WHERE txid > ${from.txid}`
  yield* Metric.set(tagged(changesPending, "reverse", "notifications"), lag?.pending ?? 0)
  yield* Metric.set(tagged(lagSeconds, "reverse", "notifications"), lag?.seconds ?? 0)
  return lag?.pending ?? 0
})
