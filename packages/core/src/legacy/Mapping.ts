import { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { PgClient } from "@effect/sql-pg"
import {
  fromLegacyStatus,
  LegacyNotification,
  LegacyPreference,
  LegacyTemplate,
  missingLegacyStatus,
  toLegacyStatus
} from "@notification-service/domain"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The mapping rules of MIGRATION.md, implemented once. The forward direction is SQL run on the
 * monolith's database, so that the backfill, the bridge and `verify` read the same service-shaped
 * rows (timestamps converted by Postgres, microseconds kept); the reverse direction is the
 * domain's `toLegacyStatus` table, rendered to SQL where a query needs it.
 */

/** The monolith's database: a second `SqlClient`, for the migration tools. */
export class LegacySql extends Context.Tag("core/LegacySql")<LegacySql, SqlClient.SqlClient>() {}

export const LegacyConfig = Config.all({
  url: Config.redacted("LEGACY_DATABASE_URL"),
  // The monolith runs with USE_TZ = False: its naive timestamps are wall-clock time in TIME_ZONE.
  timeZone: Config.string("LEGACY_TIME_ZONE").pipe(Config.withDefault("Europe/London"))
})
export type LegacyConfig = Config.Config.Success<typeof LegacyConfig>

type Sql = SqlClient.SqlClient

/** A pool on `LEGACY_DATABASE_URL`. */
export const LegacySqlLive = Layer.unwrapEffect(
  Effect.map(LegacyConfig, (config) =>
    // Its own pool's SqlClient, under the LegacySql tag only: the service's SqlClient is not shadowed.
    Layer.effect(LegacySql, SqlClient.SqlClient).pipe(
      Layer.provide(
        PgClient.layer({ url: config.url, maxConnections: 5, applicationName: "notification-service-migration" })
      )
    )
  )
)

const caseOf = (sql: Sql, column: string, map: Readonly<Record<string, string>>, otherwise: string): Fragment =>
  sql.unsafe(
    `CASE ${column} ${Object.entries(map)
      .map(([from, to]) => `WHEN '${from}' THEN '${to}'`)
      .join(" ")} ELSE '${otherwise}' END`
  )

/** A naive legacy timestamp, read in `zone`, as ISO 8601 UTC with microseconds. */
const isoFromNaive = (sql: Sql, expression: string, zone: string): Fragment =>
  sql`to_char((${sql.unsafe(expression)} AT TIME ZONE ${zone}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

/** A service `timestamptz` as the same ISO 8601 UTC text. */
export const isoFromTimestamptz = (sql: Sql, expression: string): Fragment =>
  sql`to_char(${sql.unsafe(expression)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

/**
 * The service's template variable declarations from the legacy `variables` JSON (names; or
 * objects with a name; or an object's keys). None is required: the monolith sends with whatever
 * context it has and leaves a missing `{placeholder}` as it is, and a send it accepted must not
 * become a 422 once it goes through the service.
 */
const variablesOf = (sql: Sql, column: string): Fragment =>
  sql.unsafe(`coalesce((
    SELECT jsonb_agg(jsonb_build_object('name', name, 'required', false) ORDER BY first)
    FROM (SELECT name, min(ord) AS first FROM (
      SELECT CASE jsonb_typeof(v) WHEN 'string' THEN v #>> '{}' WHEN 'object' THEN v ->> 'name' END AS name, ord
      FROM jsonb_array_elements(CASE jsonb_typeof(${column}) WHEN 'array' THEN ${column} ELSE '[]'::jsonb END)
        WITH ORDINALITY AS e(v, ord)
      UNION ALL
      SELECT key, ord FROM jsonb_each(CASE jsonb_typeof(${column}) WHEN 'object' THEN ${column} ELSE '{}'::jsonb END)
        WITH ORDINALITY AS o(key, value, ord)
    ) names WHERE name ~ '^[A-Za-z_][A-Za-z0-9_]{0,63}$' GROUP BY name) declared
  ), '[]'::jsonb)`)

/** Where the legacy rows come from: the table, some of its rows (the bridge), or rows given as JSON. */
export type LegacySource =
  | { readonly _tag: "Table" }
  | { readonly _tag: "Ids"; readonly ids: ReadonlyArray<number> }
  | { readonly _tag: "Rows"; readonly rows: ReadonlyArray<unknown> }

const source = (sql: Sql, table: string, from: LegacySource): Fragment => {
  switch (from._tag) {
    case "Table":
      return sql.unsafe(table)
    case "Ids":
      return sql`(SELECT * FROM ${sql.unsafe(table)} WHERE id = ANY(${from.ids}::int[]))`
    case "Rows":
      return sql`jsonb_populate_recordset(NULL::${sql.unsafe(table)}, ${JSON.stringify(from.rows)}::jsonb)`
  }
}

/**
 * The row's position: the id of the last recorded change to it (0 before any), read in the same
 * statement as the row, so the two agree. Changes to one row are serialized by its row lock, so
 * positions grow in commit order: the service ignores a write older than what it holds, whoever
 * sends it (backfill or bridge) and however late.
 */
const positionOf = (sql: Sql, table: string, alias: string): Fragment =>
  // float8: node-postgres returns bigint as text; change ids stay exact in a double up to 2^53.
  sql.unsafe(`coalesce((SELECT max(c.id) FROM notifications_legacy_changes c
      WHERE c.table_name = '${table}' AND c.row_id = ${alias}.id), 0)::float8 AS legacy_position`)

/** Keyset bounds by legacy id: `after < id <= upTo`. */
export interface IdRange {
  readonly after: number
  readonly upTo: number
}

/** Every legacy id: the monolith's ids are `SERIAL` (int4), so a wider bound would not even compare. */
export const allIds: IdRange = { after: 0, upTo: 2_147_483_647 }

/**
 * Only some users' rows (shadow-compare reads user by user): `AND <column> IN (…)`, nothing
 * without a filter, so the callers that read by id range alone get the same SQL as before.
 */
const ofUsers = (sql: Sql, column: string, users: ReadonlyArray<number> | undefined): Fragment =>
  users === undefined
    ? sql.unsafe("")
    : users.length === 0
      ? sql.unsafe("AND false")
      : sql`AND ${sql.unsafe(column)} IN ${sql.in(users)}`

/**
 * Legacy templates as `LegacyTemplate` rows. The monolith treats a template without a type as
 * email; an email template needs a subject in the service, so a missing one becomes empty.
 */
export const legacyTemplates = (sql: Sql, zone: string, from: LegacySource, range: IdRange, limit: number) =>
  sql`
    SELECT t.id AS legacy_id, t.name, coalesce(t.type, 'email') AS type,
      CASE WHEN coalesce(t.type, 'email') = 'email' THEN coalesce(t.subject, '') ELSE t.subject END AS subject,
      t.body, ${variablesOf(sql, "t.variables")} AS variables,
      ${isoFromNaive(sql, "coalesce(t.created_at, t.updated_at, localtimestamp)", zone)} AS created_at,
      ${isoFromNaive(sql, "coalesce(t.updated_at, t.created_at, localtimestamp)", zone)} AS updated_at,
      ${positionOf(sql, "notifications_notificationtemplate", "t")}
    FROM ${source(sql, "notifications_notificationtemplate", from)} t
    WHERE t.id > ${range.after} AND t.id <= ${range.upTo}
    ORDER BY t.id LIMIT ${limit}`

/**
 * Legacy logs as `LegacyNotification` rows. The channel is the log's type, else its template's,
 * else email (as the monolith sends); statuses map by `fromLegacyStatus`; metadata that is not a
 * JSON object is kept under `legacy_metadata`.
 */
export const legacyNotifications = (
  sql: Sql,
  zone: string,
  from: LegacySource,
  range: IdRange,
  limit: number,
  users?: ReadonlyArray<number>
) =>
  sql`
    SELECT l.id AS legacy_id, l.user_id, l.template_id AS template_legacy_id,
      coalesce(l.type, t.type, 'email') AS channel,
      ${caseOf(sql, "l.status", fromLegacyStatus, missingLegacyStatus.status)} AS status,
      CASE WHEN l.status IS NULL THEN ${missingLegacyStatus.reason} END AS status_reason,
      ${isoFromNaive(sql, "l.sent_at", zone)} AS sent_at, l.error_message,
      CASE WHEN l.metadata IS NULL THEN '{}'::jsonb
        WHEN jsonb_typeof(l.metadata) = 'object' THEN l.metadata - ${reverseSyncKey}
        ELSE jsonb_build_object('legacy_metadata', l.metadata) END AS metadata,
      ${positionOf(sql, "notifications_notificationlog", "l")}
    FROM ${source(sql, "notifications_notificationlog", from)} l
    LEFT JOIN notifications_notificationtemplate t ON t.id = l.template_id
    WHERE l.id > ${range.after} AND l.id <= ${range.upTo} ${ofUsers(sql, "l.user_id", users)}
    ORDER BY l.id LIMIT ${limit}`

/**
 * Legacy preferences as `LegacyPreference` rows: a NULL channel flag is the column default (on);
 * quiet hours need both ends (the monolith ignored half-set ones); they are in the monolith's zone.
 */
export const legacyPreferences = (
  sql: Sql,
  zone: string,
  from: LegacySource,
  range: IdRange,
  limit: number,
  users?: ReadonlyArray<number>
) =>
  sql`
    SELECT p.id AS legacy_id, p.user_id, coalesce(p.email_enabled, true) AS email_enabled,
      coalesce(p.sms_enabled, true) AS sms_enabled, coalesce(p.push_enabled, true) AS push_enabled,
      CASE WHEN p.quiet_hours_end IS NOT NULL THEN to_char(p.quiet_hours_start, 'HH24:MI:SS') END AS quiet_hours_start,
      CASE WHEN p.quiet_hours_start IS NOT NULL THEN to_char(p.quiet_hours_end, 'HH24:MI:SS') END AS quiet_hours_end,
      ${zone}::text AS timezone,
      ${isoFromNaive(sql, "coalesce(p.updated_at, localtimestamp)", zone)} AS updated_at,
      ${positionOf(sql, "notifications_userpreference", "p")}
    FROM ${source(sql, "notifications_userpreference", from)} p
    WHERE p.id > ${range.after} AND p.id <= ${range.upTo} ${ofUsers(sql, "p.user_id", users)}
    ORDER BY p.id LIMIT ${limit}`

/**
 * The metadata key under which the reverse sync stores the service's notification id in a log it
 * writes, so that a retried write finds its row; not part of the notification's own metadata.
 */
export const reverseSyncKey = "notification_service_id"

/** The service status as the legacy CHECK set, in SQL (verify's reverse check, the reverse sync). */
export const legacyStatusOf = (sql: Sql, column: string): Fragment => caseOf(sql, column, toLegacyStatus, "failed")

/** The three migrated tables, in copy order (a log needs its template first). */
export const entities = ["templates", "preferences", "notifications"] as const
export type Entity = (typeof entities)[number]

export const tables: { readonly [E in Entity]: { readonly legacy: string; readonly service: string } } = {
  templates: { legacy: "notifications_notificationtemplate", service: "templates" },
  preferences: { legacy: "notifications_userpreference", service: "user_preferences" },
  notifications: { legacy: "notifications_notificationlog", service: "notifications" }
}

/** Each table's mapped select and the shape its rows must have (the rows are decoded before use). */
export const spec = {
  templates: { select: legacyTemplates, schema: LegacyTemplate },
  preferences: { select: legacyPreferences, schema: LegacyPreference },
  notifications: { select: legacyNotifications, schema: LegacyNotification }
} as const
