import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { type ImportCounts, LegacyImport, LegacyMapping } from "@notification-service/core"
import type { LegacyNotification, LegacyPreference, LegacyTemplate } from "@notification-service/domain"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

export const entities = LegacyMapping.entities
export type Entity = LegacyMapping.Entity

export interface BackfillOptions {
  readonly batchSize: number
  /** At most this many legacy rows per second (0: as fast as it goes). */
  readonly rowsPerSecond: number
  readonly dryRun: boolean
  /** Start from the beginning instead of the checkpoints. */
  readonly restart: boolean
  readonly only: ReadonlyArray<Entity>
}

export interface EntitySummary {
  readonly entity: Entity
  readonly read: number
  readonly inserted: number
  readonly updated: number
  readonly unchanged: number
  readonly rejected: ReadonlyArray<{ readonly legacyId: number; readonly reason: string }>
  readonly resumedAfter: number
  readonly lastLegacyId: number
  readonly seconds: number
  readonly rowsPerSecond: number
}

export type OnProgress = (entity: Entity, done: number, total: number) => Effect.Effect<void>

/** Each table's name in the monolith and in the service. */
export const tables = LegacyMapping.tables
const spec = LegacyMapping.spec

const reasonOf = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
    .join("; ")

/**
 * Copies the monolith's templates, then preferences, then logs into the service, in keyset
 * batches by legacy id up to the highest id present when it starts (later rows are the bridge's).
 * Each batch is written and its checkpoint moved in one service transaction, so a crash or Ctrl-C
 * loses at most the batch in flight, and a rerun resumes after the last committed one. It only
 * reads the legacy database.
 */
export const backfill = (options: BackfillOptions, onProgress: OnProgress) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const legacy = yield* LegacyMapping.LegacySql
    const { timeZone } = yield* LegacyMapping.LegacyConfig
    const importer = yield* LegacyImport

    const write = (entity: Entity, rows: ReadonlyArray<unknown>): Effect.Effect<ImportCounts, SqlError> => {
      switch (entity) {
        case "templates":
          return importer.templates(rows as ReadonlyArray<LegacyTemplate>)
        case "preferences":
          return importer.preferences(rows as ReadonlyArray<LegacyPreference>)
        case "notifications":
          return importer.notifications(rows as ReadonlyArray<LegacyNotification>)
      }
    }

    const copy = (entity: Entity): Effect.Effect<EntitySummary, SqlError> =>
      Effect.gen(function* () {
        const { select, schema } = spec[entity]
        const table = tables[entity].legacy
        const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)
        if (options.restart && !options.dryRun) {
          yield* sql`DELETE FROM legacy_backfill_checkpoints WHERE entity = ${entity}`
        }
        const [checkpoint] = options.restart
          ? []
          : yield* sql<{ readonly last_legacy_id: number }>`
              SELECT last_legacy_id FROM legacy_backfill_checkpoints WHERE entity = ${entity}`
        const resumedAfter = checkpoint?.last_legacy_id ?? 0
        const [bounds] = yield* legacy<{ readonly max_id: number | null; readonly remaining: string }>`
          SELECT max(id) AS max_id, count(*) FILTER (WHERE id > ${resumedAfter}) AS remaining
          FROM ${legacy.unsafe(table)}`
        const upTo = bounds?.max_id ?? 0
        const total = Number(bounds?.remaining ?? 0)
        const startedAt = yield* Clock.currentTimeMillis
        let after = resumedAfter
        let summary = { read: 0, inserted: 0, updated: 0, rejected: [] as Array<{ legacyId: number; reason: string }> }
        yield* onProgress(entity, 0, total)
        while (after < upTo) {
          const rows = yield* select(legacy, timeZone, { _tag: "Table" }, { after, upTo }, options.batchSize)
          const last = rows.at(-1) as { readonly legacy_id: number } | undefined
          if (last === undefined) break
          const valid: Array<unknown> = []
          for (const row of rows) {
            const decoded = decode(row)
            if (Either.isRight(decoded)) valid.push(decoded.right)
            else
              summary.rejected.push({
                legacyId: (row as { readonly legacy_id: number }).legacy_id,
                reason: reasonOf(decoded.left)
              })
          }
          if (!options.dryRun) {
            const written = yield* Effect.gen(function* () {
              const counts = yield* write(entity, valid)
              yield* sql`
                INSERT INTO legacy_backfill_checkpoints (entity, last_legacy_id, rows_copied)
                VALUES (${entity}, ${last.legacy_id}, ${rows.length})
                ON CONFLICT (entity) DO UPDATE SET last_legacy_id = excluded.last_legacy_id,
                  rows_copied = legacy_backfill_checkpoints.rows_copied + excluded.rows_copied, updated_at = now()`
              return counts
            }).pipe(sql.withTransaction)
            summary = {
              read: summary.read,
              inserted: summary.inserted + written.inserted,
              updated: summary.updated + written.updated,
              rejected: [...summary.rejected, ...written.rejected]
            }
          }
          summary.read += rows.length
          after = last.legacy_id
          yield* onProgress(entity, summary.read, Math.max(total, summary.read))
          if (options.rowsPerSecond > 0) {
            // Throttle: never ahead of the allowed rate since the start.
            const due = startedAt + (summary.read * 1000) / options.rowsPerSecond
            const now = yield* Clock.currentTimeMillis
            if (due > now) yield* Effect.sleep(due - now)
          }
        }
        const seconds = ((yield* Clock.currentTimeMillis) - startedAt) / 1000
        return {
          entity,
          read: summary.read,
          inserted: summary.inserted,
          updated: summary.updated,
          unchanged: options.dryRun ? 0 : summary.read - summary.inserted - summary.updated - summary.rejected.length,
          rejected: summary.rejected,
          resumedAfter,
          lastLegacyId: after,
          seconds,
          rowsPerSecond: seconds > 0 ? Math.round(summary.read / seconds) : summary.read
        }
      }).pipe(Effect.withSpan("backfill.copy", { attributes: { entity } }))

    const results: Array<EntitySummary> = []
    // Templates first: logs refer to them by legacy id.
    for (const entity of entities) if (options.only.includes(entity)) results.push(yield* copy(entity))
    return { dryRun: options.dryRun, entities: results }
  })
