import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import type { LegacyNotification, LegacyPreference, LegacyTemplate } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { isUniqueViolation } from "../Sql.js"
import { makeUuidv7 } from "../Uuid.js"

export interface ImportCounts {
  readonly inserted: number
  readonly updated: number
  /** Rows that could not be written, with the reason (e.g. a template name taken by a service template). */
  readonly rejected: ReadonlyArray<{ readonly legacyId: number; readonly reason: string }>
}

/** The reason a log is rejected while its template has not been copied: the bridge copies it, then retries. */
export const templateMissing = "template_missing"

const none: ImportCounts = { inserted: 0, updated: 0, rejected: [] }

const ids = (count: number) => Effect.all(Array.from({ length: count }, () => makeUuidv7))

/**
 * Writes the monolith's rows (already mapped, see `legacy/Mapping.ts`) into the service, upserting
 * by `legacy_id`: a row already there is changed only if a mapped field differs, so copying the
 * same rows again (a resumed backfill, a redelivered bridge change) changes nothing. Notifications
 * go through the event store like every other change: a new one gets `notification.imported`, a
 * changed one `notification.legacy_synced`, and the per-user counters follow in the same statement.
 * Used by the backfill (batches) and the internal API (the bridge, one row at a time).
 */
export class LegacyImport extends Effect.Service<LegacyImport>()("core/LegacyImport", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const notifications = (rows: ReadonlyArray<LegacyNotification>): Effect.Effect<ImportCounts, SqlError> =>
      Effect.gen(function* () {
        if (rows.length === 0) return none
        const now = DateTime.toDateUtc(yield* DateTime.now)
        const fresh = yield* ids(rows.length)
        const input = rows.map((row, i) => ({ ...row, id: fresh[i] }))
        const [result] = yield* sql<{
          readonly inserted: number
          readonly updated: number
          readonly missing: ReadonlyArray<number> | null
        }>`
          WITH matched AS (
            SELECT x.*, t.id AS template_id
            FROM jsonb_to_recordset(${JSON.stringify(input)}::jsonb) AS x(id uuid, legacy_id integer, user_id bigint,
              template_legacy_id integer, channel text, status text, status_reason text, sent_at timestamptz,
              error_message text, metadata jsonb, legacy_position bigint)
            LEFT JOIN templates t ON t.legacy_id = x.template_legacy_id
          ),
          -- A log whose template is not here yet waits for it (rejected now, copied once it is).
          input AS (SELECT * FROM matched WHERE template_legacy_id IS NULL OR template_id IS NOT NULL),
          inserted AS (
            INSERT INTO notifications (id, legacy_id, user_id, template_id, channel, status, priority, variables, metadata,
              status_reason, error_message, sent_at, created_at, updated_at, attempts, legacy_position, version)
            SELECT id, legacy_id, user_id, template_id, channel, status, 'normal', '{}'::jsonb, metadata, status_reason,
              -- Milliseconds, as every service timestamp: keyset cursors carry created_at to the millisecond.
              error_message, sent_at, date_trunc('milliseconds', coalesce(sent_at, ${now})),
              date_trunc('milliseconds', coalesce(sent_at, ${now})),
              CASE WHEN status IN ('sent', 'failed', 'bounced') THEN 1 ELSE 0 END, legacy_position, 1
            FROM input WHERE NOT EXISTS (SELECT 1 FROM notifications n WHERE n.legacy_id = input.legacy_id)
            ON CONFLICT (legacy_id) DO NOTHING
            RETURNING *
          ),
          first_events AS (
            INSERT INTO notification_events (aggregate_id, version, type, data, recorded_at)
            SELECT id, 1, 'notification.imported', to_jsonb(inserted) - 'version', ${now} FROM inserted
          ),
          changed AS (
            SELECT n.id, n.version, n.user_id AS old_user_id, n.status AS old_status, input.user_id, input.template_id,
              input.channel, input.status, input.status_reason, input.sent_at, input.error_message, input.metadata,
              input.legacy_position
            FROM notifications n JOIN input ON input.legacy_id = n.legacy_id
            -- Never older than what is here; a newer position is kept even when the row reads the same.
            WHERE input.legacy_position >= coalesce(n.legacy_position, 0)
              AND ((n.user_id, n.template_id, n.channel, n.status, n.status_reason, n.sent_at, n.error_message, n.metadata)
                IS DISTINCT FROM (input.user_id, input.template_id, input.channel, input.status, input.status_reason,
                  input.sent_at, input.error_message, input.metadata)
                OR input.legacy_position > coalesce(n.legacy_position, 0))
          ),
          updated AS (
            UPDATE notifications n SET user_id = c.user_id, template_id = c.template_id, channel = c.channel,
              status = c.status, status_reason = c.status_reason, sent_at = c.sent_at, error_message = c.error_message,
              metadata = c.metadata, legacy_position = c.legacy_position, updated_at = ${now}, version = n.version + 1
            FROM changed c WHERE n.id = c.id AND n.version = c.version
            RETURNING n.*, c.old_user_id, c.old_status
          ),
          later_events AS (
            INSERT INTO notification_events (aggregate_id, version, type, data, recorded_at)
            SELECT id, version, 'notification.legacy_synced',
              jsonb_build_object('user_id', user_id, 'template_id', template_id, 'channel', channel, 'status', status,
                'status_reason', status_reason, 'sent_at', sent_at, 'error_message', error_message, 'metadata', metadata,
                'updated_at', updated_at, 'due_at', due_at, 'lease_expires_at', lease_expires_at,
                'legacy_position', legacy_position),
              ${now}
            FROM updated
          ),
          counted AS (
            INSERT INTO notification_counts (user_id, status, count)
            SELECT user_id, status, sum(delta) FROM (
              SELECT user_id, status, 1 AS delta FROM inserted
              UNION ALL SELECT user_id, status, 1 FROM updated
              UNION ALL SELECT old_user_id, old_status, -1 FROM updated
            ) moves GROUP BY user_id, status HAVING sum(delta) <> 0
            ORDER BY user_id, status
            ON CONFLICT (user_id, status) DO UPDATE SET count = notification_counts.count + excluded.count
          )
          SELECT (SELECT count(*)::int FROM inserted) AS inserted, (SELECT count(*)::int FROM updated) AS updated,
            (SELECT array_agg(legacy_id ORDER BY legacy_id) FROM matched WHERE template_legacy_id IS NOT NULL
              AND template_id IS NULL) AS missing`
        const byId = new Map(rows.map((row) => [row.legacy_id, row.template_legacy_id]))
        return {
          inserted: result?.inserted ?? 0,
          updated: result?.updated ?? 0,
          rejected: (result?.missing ?? []).map((legacyId) => ({
            legacyId,
            reason: `${templateMissing}: its template ${byId.get(legacyId)} is not in the service`
          }))
        }
      }).pipe(Effect.withSpan("LegacyImport.notifications", { attributes: { rows: rows.length } }))

    const templateDiffers = sql.unsafe(`(templates.name, templates.type, templates.subject, templates.body,
        templates.variables, templates.deleted_at IS NULL)
      IS DISTINCT FROM (excluded.name, excluded.type, excluded.subject, excluded.body, excluded.variables, true)`)

    // One at a time: there are few templates, and a name taken by a service template rejects one row, not a batch.
    const template = (row: LegacyTemplate) =>
      Effect.gen(function* () {
        const id = yield* makeUuidv7
        const written = yield* sql<{ readonly inserted: boolean }>`
          INSERT INTO templates (id, legacy_id, name, type, subject, body, syntax, variables, version, created_at,
            updated_at, legacy_position)
          VALUES (${id}, ${row.legacy_id}, ${row.name}, ${row.type}, ${row.subject}, ${row.body}, 'legacy',
            ${JSON.stringify(row.variables)}::jsonb, 1, ${row.created_at}::timestamptz, ${row.updated_at}::timestamptz,
            ${row.legacy_position})
          ON CONFLICT (legacy_id) DO UPDATE SET name = excluded.name, type = excluded.type, subject = excluded.subject,
            body = excluded.body, variables = excluded.variables, updated_at = excluded.updated_at,
            legacy_position = excluded.legacy_position, deleted_at = NULL,
            -- The version counts content changes: a newer position alone does not make a new version.
            version = templates.version + CASE WHEN ${templateDiffers} THEN 1 ELSE 0 END
          WHERE excluded.legacy_position >= coalesce(templates.legacy_position, 0)
            AND (${templateDiffers} OR excluded.legacy_position > coalesce(templates.legacy_position, 0))
          RETURNING (xmax = 0) AS inserted`.pipe(sql.withTransaction)
        const first = written[0]
        return first === undefined ? "unchanged" : first.inserted ? "inserted" : "updated"
      }).pipe(
        Effect.catchIf(isUniqueViolation, () => Effect.succeed("name_taken" as const)),
        Effect.withSpan("LegacyImport.template")
      )

    const templates = (rows: ReadonlyArray<LegacyTemplate>): Effect.Effect<ImportCounts, SqlError> =>
      Effect.reduce(rows, none, (counts, row) =>
        Effect.map(template(row), (outcome) =>
          outcome === "inserted"
            ? { ...counts, inserted: counts.inserted + 1 }
            : outcome === "updated"
              ? { ...counts, updated: counts.updated + 1 }
              : outcome === "name_taken"
                ? {
                    ...counts,
                    rejected: [
                      ...counts.rejected,
                      { legacyId: row.legacy_id, reason: `the name '${row.name}' is taken by a service template` }
                    ]
                  }
                : counts
        )
      )

    const preferences = (rows: ReadonlyArray<LegacyPreference>): Effect.Effect<ImportCounts, SqlError> =>
      Effect.gen(function* () {
        if (rows.length === 0) return none
        const [result] = yield* sql<{ readonly inserted: number; readonly updated: number }>`
          WITH written AS (
            INSERT INTO user_preferences (user_id, legacy_id, email_enabled, sms_enabled, push_enabled, quiet_hours_start,
              quiet_hours_end, timezone, created_at, updated_at, legacy_position)
            SELECT user_id, legacy_id, email_enabled, sms_enabled, push_enabled, quiet_hours_start, quiet_hours_end,
              timezone, updated_at, updated_at, legacy_position
            FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(legacy_id integer, user_id bigint,
              email_enabled boolean, sms_enabled boolean, push_enabled boolean, quiet_hours_start time,
              quiet_hours_end time, timezone text, updated_at timestamptz, legacy_position bigint)
            ON CONFLICT (user_id) DO UPDATE SET legacy_id = excluded.legacy_id, email_enabled = excluded.email_enabled,
              sms_enabled = excluded.sms_enabled, push_enabled = excluded.push_enabled,
              quiet_hours_start = excluded.quiet_hours_start, quiet_hours_end = excluded.quiet_hours_end,
              updated_at = excluded.updated_at, legacy_position = excluded.legacy_position
            WHERE excluded.legacy_position >= coalesce(user_preferences.legacy_position, 0)
              AND ((user_preferences.legacy_id, user_preferences.email_enabled, user_preferences.sms_enabled,
                  user_preferences.push_enabled, user_preferences.quiet_hours_start, user_preferences.quiet_hours_end)
                IS DISTINCT FROM (excluded.legacy_id, excluded.email_enabled, excluded.sms_enabled, excluded.push_enabled,
                  excluded.quiet_hours_start, excluded.quiet_hours_end)
                OR excluded.legacy_position > coalesce(user_preferences.legacy_position, 0))
            RETURNING (xmax = 0) AS inserted
          )
          SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated
          FROM written`
        return { inserted: result?.inserted ?? 0, updated: result?.updated ?? 0, rejected: [] }
      }).pipe(Effect.withSpan("LegacyImport.preferences", { attributes: { rows: rows.length } }))

    /** A template deleted in the monolith: deleted here too (soft, as the API deletes). */
    const deleteTemplate = (legacyId: number, position: number): Effect.Effect<boolean, SqlError> =>
      sql`UPDATE templates SET deleted_at = now(), legacy_position = ${position}
        WHERE legacy_id = ${legacyId} AND deleted_at IS NULL AND coalesce(legacy_position, 0) <= ${position}
        RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))

    /** A preference row deleted in the monolith: the user is back to the defaults. */
    const deletePreference = (legacyId: number, position: number): Effect.Effect<boolean, SqlError> =>
      sql`DELETE FROM user_preferences
        WHERE legacy_id = ${legacyId} AND coalesce(legacy_position, 0) <= ${position} RETURNING user_id`.pipe(
        Effect.map((rows) => rows.length > 0)
      )

    return { notifications, templates, preferences, deleteTemplate, deletePreference } as const
  })
}) {}
