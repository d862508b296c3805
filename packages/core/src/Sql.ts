import { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/** `bigint` columns come back from `pg` as strings. */
export const IntFromPg = Schema.Union(Schema.Number, Schema.NumberFromString)

/** Postgres error code of a failed statement, when the driver gives one. */
export const sqlState = (error: SqlError): string | undefined => {
  const cause = error.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : undefined
}

export const isUniqueViolation = (error: unknown): boolean => error instanceof SqlError && sqlState(error) === "23505"

/** Rows we wrote ourselves failing to decode is a bug, not a request error. */
export const decodeRows =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<A>> =>
    Schema.decodeUnknown(Schema.Array(schema))(rows).pipe(Effect.orDie)

/** Escapes `%`, `_` and `\` for a `LIKE 'prefix%'` pattern. */
export const likePrefix = (prefix: string): string => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
