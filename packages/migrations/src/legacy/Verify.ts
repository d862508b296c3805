import { SqlClient } from "@effect/sql"
import type { Fragment } from "@effect/sql/Statement"
import { LegacyMapping } from "@notification-service/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { type Entity, entities, tables } from "./Backfill.js"

export interface VerifyOptions {
  /** Legacy ids per checksum range. */
  readonly rangeSize: number
  /** Ranges checksummed at once on each side. */
  readonly parallel: number
  /** At most this many mismatching ids listed per table. */
  readonly maxIds: number
  readonly only: ReadonlyArray<Entity>
}

export interface EntityReport {
  readonly entity: Entity
  readonly legacyRows: number
  readonly serviceRows: number
  readonly mismatchedRanges: ReadonlyArray<readonly [from: number, to: number]>
  readonly missingInService: ReadonlyArray<number>
  readonly extraInService: ReadonlyArray<number>
  readonly different: ReadonlyArray<number>
}

interface Bucket {
  readonly bucket: number
  readonly rows: number
  readonly checksum: string
}

type Sql = SqlClient.SqlClient

/** The comparable columns of a row, as one JSON array: both sides build it the same way. */
const legacySide = (legacy: Sql, zone: string, entity: Entity, range: LegacyMapping.IdRange): Fragment => {
  const all = Number.MAX_SAFE_INTEGER
  switch (entity) {
    case "templates":
      return legacy`SELECT legacy_id, jsonb_build_array(legacy_id, name, type, subject, body, variables) AS r
        FROM (${LegacyMapping.legacyTemplates(legacy, zone, { _tag: "Table" }, range, all)}) m`
    case "preferences":
      return legacy`SELECT legacy_id, jsonb_build_array(legacy_id, user_id, email_enabled, sms_enabled, push_enabled,
          quiet_hours_start, quiet_hours_end) AS r
        FROM (${LegacyMapping.legacyPreferences(legacy, zone, { _tag: "Table" }, range, all)}) m`
    case "notifications":
      return legacy`SELECT legacy_id, jsonb_build_array(legacy_id, user_id, template_legacy_id, channel, status,
          status_reason, sent_at, error_message, metadata) AS r
        FROM (${LegacyMapping.legacyNotifications(legacy, zone, { _tag: "Table" }, range, all)}) m`
  }
}

const serviceSide = (sql: Sql, entity: Entity, range: LegacyMapping.IdRange): Fragment => {
  switch (entity) {
    case "templates":
      return sql`SELECT legacy_id, jsonb_build_array(legacy_id, name, type, subject, body, variables) AS r
        FROM templates WHERE legacy_id > ${range.after} AND legacy_id <= ${range.upTo} AND deleted_at IS NULL`
    case "preferences":
      return sql`SELECT legacy_id, jsonb_build_array(legacy_id, user_id, email_enabled, sms_enabled, push_enabled,
          to_char(quiet_hours_start, 'HH24:MI:SS'), to_char(quiet_hours_end, 'HH24:MI:SS')) AS r
        FROM user_preferences WHERE legacy_id > ${range.after} AND legacy_id <= ${range.upTo}`
    case "notifications":
      return sql`SELECT n.legacy_id, jsonb_build_array(n.legacy_id, n.user_id, t.legacy_id, n.channel, n.status,
          n.status_reason, ${LegacyMapping.isoFromTimestamptz(sql, "n.sent_at")}, n.error_message, n.metadata) AS r
        FROM notifications n LEFT JOIN templates t ON t.id = n.template_id
        WHERE n.legacy_id > ${range.after} AND n.legacy_id <= ${range.upTo}`
  }
}

// Checksums are computed inside Postgres: only one row per range crosses the wire.
const buckets = (sql: Sql, rows: Fragment, rangeSize: number) =>
  sql<Bucket>`
    SELECT ((legacy_id - 1) / ${rangeSize})::int AS bucket, count(*)::int AS rows,
      md5(string_agg(md5(r::text), '' ORDER BY legacy_id)) AS checksum
    FROM (${rows}) x GROUP BY 1`

const rowHashes = (sql: Sql, rows: Fragment) =>
  sql<{ readonly legacy_id: number; readonly hash: string }>`SELECT legacy_id, md5(r::text) AS hash FROM (${rows}) x`

/**
 * Compares the monolith's rows, mapped, with the service's, per range of legacy ids: counts and
 * checksums first (in parallel, computed by each database), then the ids of the ranges that differ.
 */
export const verify = (options: VerifyOptions) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const legacy = yield* LegacyMapping.LegacySql
    const { timeZone } = yield* LegacyMapping.LegacyConfig
    const startedAt = yield* Clock.currentTimeMillis

    const check = (entity: Entity) =>
      Effect.gen(function* () {
        const table = tables[entity].legacy
        const serviceTable = tables[entity].service
        const [legacyMax] = yield* legacy<{ readonly max: number | null }>`
          SELECT max(id) AS max FROM ${legacy.unsafe(table)}`
        const [serviceMax] = yield* sql<{ readonly max: number | null }>`
          SELECT max(legacy_id) AS max FROM ${sql.unsafe(serviceTable)}`
        const upTo = Math.max(legacyMax?.max ?? 0, serviceMax?.max ?? 0)
        // Chunks of whole ranges, one query per chunk and side.
        const rangesPerChunk = Math.max(1, Math.ceil(upTo / options.rangeSize / (options.parallel * 4)))
        const chunk = rangesPerChunk * options.rangeSize
        const chunks = Array.from({ length: Math.ceil(upTo / chunk) }, (_, i) => ({
          after: i * chunk,
          upTo: Math.min(upTo, (i + 1) * chunk)
        }))
        const both = (range: LegacyMapping.IdRange) =>
          Effect.all(
            [
              buckets(legacy, legacySide(legacy, timeZone, entity, range), options.rangeSize),
              buckets(sql, serviceSide(sql, entity, range), options.rangeSize)
            ],
            { concurrency: 2 }
          )
        const results = yield* Effect.all(chunks.map(both), { concurrency: options.parallel })
        const legacyBuckets = new Map(results.flatMap(([l]) => l.map((b) => [b.bucket, b] as const)))
        const serviceBuckets = new Map(results.flatMap(([, s]) => s.map((b) => [b.bucket, b] as const)))
        const count = (map: ReadonlyMap<number, Bucket>) => [...map.values()].reduce((n, b) => n + b.rows, 0)
        const mismatched = [...new Set([...legacyBuckets.keys(), ...serviceBuckets.keys()])]
          .filter((bucket) => legacyBuckets.get(bucket)?.checksum !== serviceBuckets.get(bucket)?.checksum)
          .sort((a, b) => a - b)
        const missingInService: Array<number> = []
        const extraInService: Array<number> = []
        const different: Array<number> = []
        for (const bucket of mismatched) {
          if (missingInService.length + extraInService.length + different.length >= options.maxIds) break
          const range = { after: bucket * options.rangeSize, upTo: (bucket + 1) * options.rangeSize }
          const [fromLegacy, fromService] = yield* Effect.all(
            [
              rowHashes(legacy, legacySide(legacy, timeZone, entity, range)),
              rowHashes(sql, serviceSide(sql, entity, range))
            ],
            { concurrency: 2 }
          )
          const service = new Map(fromService.map((row) => [row.legacy_id, row.hash]))
          const legacyIds = new Set(fromLegacy.map((row) => row.legacy_id))
          for (const row of fromLegacy) {
            const hash = service.get(row.legacy_id)
            if (hash === undefined) missingInService.push(row.legacy_id)
            else if (hash !== row.hash) different.push(row.legacy_id)
          }
          for (const row of fromService) if (!legacyIds.has(row.legacy_id)) extraInService.push(row.legacy_id)
        }
        const sorted = (ids: Array<number>) => ids.sort((a, b) => a - b).slice(0, options.maxIds)
        return {
          entity,
          legacyRows: count(legacyBuckets),
          serviceRows: count(serviceBuckets),
          mismatchedRanges: mismatched.map(
            (bucket) => [bucket * options.rangeSize + 1, (bucket + 1) * options.rangeSize] as const
          ),
          missingInService: sorted(missingInService),
          extraInService: sorted(extraInService),
          different: sorted(different)
        } satisfies EntityReport
      }).pipe(Effect.withSpan("verify.check", { attributes: { entity } }))

    const reports: Array<EntityReport> = []
    for (const entity of entities) if (options.only.includes(entity)) reports.push(yield* check(entity))
    const seconds = ((yield* Clock.currentTimeMillis) - startedAt) / 1000
    return {
      ok: reports.every((r) => r.mismatchedRanges.length === 0 && r.legacyRows === r.serviceRows),
      seconds,
      entities: reports
    }
  })
