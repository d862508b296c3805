import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import {
  Conflict,
  type LegacyNotification,
  type LegacyPreference,
  type LegacyTemplate,
  LegacyWrite,
  type LegacyWriteOutcome,
  type Unprocessable
} from "@notification-service/domain"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Idempotency, requestHash } from "../Idempotency.js"
import { type ImportCounts, LegacyImport } from "./LegacyImport.js"

/** The monolith change a write applies, named by the bridge's `Idempotency-Key`. */
export interface ChangeKey {
  readonly apiKeyId: string
  readonly key: string
}

const outcomeOf = (counts: ImportCounts): LegacyWriteOutcome =>
  counts.inserted > 0 ? "inserted" : counts.updated > 0 ? "updated" : "unchanged"

const decodeStored = Schema.decodeUnknown(LegacyWrite)

/**
 * The internal API's writes: one mapped legacy row at a time through `LegacyImport`, each under
 * the idempotency key of the monolith change it applies. A change re-sent after a crash answers
 * its first result without writing again, so a stale change can never overwrite a newer one that
 * was applied in between.
 */
export class LegacyWrites extends Effect.Service<LegacyWrites>()("core/LegacyWrites", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const imports = yield* LegacyImport
    const idempotency = yield* Idempotency

    const once = <E>(
      change: ChangeKey,
      request: unknown,
      write: Effect.Effect<LegacyWrite, E | SqlError>
    ): Effect.Effect<LegacyWrite, E | SqlError | Conflict | Unprocessable> =>
      Effect.gen(function* () {
        const scope = { ...change, requestHash: requestHash(request) }
        const claim = yield* idempotency.claim(scope)
        if (claim._tag === "Completed") return yield* Effect.orDie(decodeStored(claim.responseBody))
        return yield* write.pipe(
          Effect.tap((result) => idempotency.complete(scope, { status: 200, body: result, notificationId: null })),
          sql.withTransaction,
          Effect.tapError(() => idempotency.release(scope))
        )
      })

    const counted = (legacyId: number, counts: ImportCounts) =>
      counts.rejected.length > 0
        ? Effect.fail(new Conflict({ detail: counts.rejected.map((r) => r.reason).join("; ") }))
        : Effect.succeed({ legacy_id: legacyId, outcome: outcomeOf(counts) })

    /** One mapped row through its `LegacyImport` batch writer, as a batch of one. */
    const put =
      <Row extends { readonly legacy_id: number }>(
        name: string,
        write: (rows: ReadonlyArray<Row>) => Effect.Effect<ImportCounts, SqlError>
      ) =>
      (change: ChangeKey, row: Row) =>
        once(
          change,
          row,
          Effect.flatMap(write([row]), (counts) => counted(row.legacy_id, counts))
        ).pipe(Effect.withSpan(`LegacyWrites.${name}`))

    const putTemplate = put<LegacyTemplate>("putTemplate", imports.templates)
    const putNotification = put<LegacyNotification>("putNotification", imports.notifications)
    const putPreference = put<LegacyPreference>("putPreference", imports.preferences)

    const deleted = (legacyId: number, removed: Effect.Effect<boolean, SqlError>) =>
      Effect.map(removed, (done): LegacyWrite => ({ legacy_id: legacyId, outcome: done ? "deleted" : "unchanged" }))

    const deleteTemplate = (change: ChangeKey, legacyId: number, position: number) =>
      once(
        change,
        { delete: "template", legacyId, position },
        deleted(legacyId, imports.deleteTemplate(legacyId, position))
      )

    const deletePreference = (change: ChangeKey, legacyId: number, position: number) =>
      once(
        change,
        { delete: "preference", legacyId, position },
        deleted(legacyId, imports.deletePreference(legacyId, position))
      )

    return { putTemplate, putNotification, putPreference, deleteTemplate, deletePreference } as const
  }),
  dependencies: [LegacyImport.Default]
}) {}
