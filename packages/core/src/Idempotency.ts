import { createHash } from "node:crypto"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Conflict, Unprocessable } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { IdempotencyConfig } from "./AppConfig.js"

/** JSON with object keys sorted, so that key order and whitespace do not make requests differ. */
export const canonicalJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

export const requestHash = (value: unknown): string => createHash("sha256").update(canonicalJson(value)).digest("hex")

export interface IdempotencyScope {
  /** Keys are scoped per API key: two clients may use the same key for different requests. */
  readonly apiKeyId: string
  readonly key: string
  readonly requestHash: string
}

export type Claim = { readonly _tag: "Claimed" } | { readonly _tag: "Completed"; readonly responseBody: unknown }

/**
 * Idempotency keys (Stripe / IETF `Idempotency-Key` draft semantics), stored in Postgres so every
 * replica sees them: the first request with a key claims it; a repeat with the same body replays
 * the stored answer, with another body is refused (422), and while the first still runs is
 * refused (409). A failed request releases its key, so the client can retry with it.
 */
export class Idempotency extends Effect.Service<Idempotency>()("core/Idempotency", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* IdempotencyConfig

    const claim = (scope: IdempotencyScope): Effect.Effect<Claim, SqlError | Conflict | Unprocessable> =>
      Effect.gen(function* () {
        const now = yield* DateTime.now
        const expires = DateTime.toDateUtc(DateTime.addDuration(now, config.ttl))
        const stale = DateTime.toDateUtc(DateTime.subtractDuration(now, config.staleAfter))
        const at = DateTime.toDateUtc(now)
        // Insert, or take over a row that expired or whose request died mid-flight.
        const claimed = yield* sql`
          INSERT INTO idempotency_keys (api_key_id, key, request_hash, state, created_at, expires_at)
          VALUES (${scope.apiKeyId}, ${scope.key}, ${scope.requestHash}, 'in_flight', ${at}, ${expires})
          ON CONFLICT (api_key_id, key) DO UPDATE SET
            request_hash = EXCLUDED.request_hash, state = 'in_flight', response_status = NULL,
            response_body = NULL, notification_id = NULL, created_at = EXCLUDED.created_at,
            expires_at = EXCLUDED.expires_at
          WHERE idempotency_keys.expires_at <= ${at}
             OR (idempotency_keys.state = 'in_flight' AND idempotency_keys.created_at <= ${stale})
          RETURNING key`
        if (claimed.length > 0) return { _tag: "Claimed" } as const
        const rows = yield* sql<{ request_hash: string; state: string; response_body: unknown }>`
          SELECT request_hash, state, response_body FROM idempotency_keys
          WHERE api_key_id = ${scope.apiKeyId} AND key = ${scope.key}`
        const existing = rows[0]
        // Deleted between the two statements (released by a failing first request): try again.
        if (existing === undefined) return yield* claim(scope)
        if (existing.request_hash !== scope.requestHash) {
          return yield* new Unprocessable({
            detail: "This Idempotency-Key was already used with a different request.",
            errors: [{ path: "Idempotency-Key", message: "reused with a different request body" }]
          })
        }
        if (existing.state !== "completed") {
          return yield* new Conflict({
            detail: "A request with this Idempotency-Key is still being processed; retry shortly."
          })
        }
        return { _tag: "Completed", responseBody: existing.response_body } as const
      }).pipe(Effect.withSpan("Idempotency.claim"))

    /** Call inside the transaction that commits the request's effects, so both commit together. */
    const complete = (
      scope: IdempotencyScope,
      response: { readonly status: number; readonly body: unknown; readonly notificationId: string | null }
    ): Effect.Effect<void, SqlError> =>
      sql`
        UPDATE idempotency_keys SET state = 'completed', response_status = ${response.status},
          response_body = ${JSON.stringify(response.body)}::jsonb, notification_id = ${response.notificationId}
        WHERE api_key_id = ${scope.apiKeyId} AND key = ${scope.key}`.pipe(Effect.asVoid)

    const release = (scope: IdempotencyScope): Effect.Effect<void, SqlError> =>
      sql`
        DELETE FROM idempotency_keys
        WHERE api_key_id = ${scope.apiKeyId} AND key = ${scope.key} AND state = 'in_flight'`.pipe(Effect.asVoid)

    const purgeExpired: Effect.Effect<number, SqlError> = Effect.gen(function* () {
      const now = DateTime.toDateUtc(yield* DateTime.now)
      const rows = yield* sql`
        DELETE FROM idempotency_keys WHERE ctid IN (
          SELECT ctid FROM idempotency_keys WHERE expires_at <= ${now} LIMIT 1000
        ) RETURNING key`
      return rows.length
    }).pipe(Effect.withSpan("Idempotency.purgeExpired"))

    return { claim, complete, release, purgeExpired } as const
  })
}) {}

/** Deletes expired keys every `IDEMPOTENCY_PURGE_INTERVAL`, in batches, for as long as the scope lives. */
export const IdempotencyPurgeLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const idempotency = yield* Idempotency
    const config = yield* IdempotencyConfig
    const purgeAll = idempotency.purgeExpired.pipe(
      Effect.repeat({ while: (deleted) => deleted === 1000 }),
      Effect.catchAll((error) => Effect.logWarning("purging expired idempotency keys failed", error))
    )
    const interval = Duration.max(config.purgeInterval, Duration.millis(10))
    // The first purge waits an interval: on a fresh database the schema may still be migrating.
    yield* purgeAll.pipe(Effect.delay(interval), Effect.repeat(Schedule.spaced(interval)), Effect.forkScoped)
  })
)
