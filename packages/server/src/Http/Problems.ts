import { HttpServerResponse } from "@effect/platform"
import { SqlError } from "@effect/sql/SqlError"
import { ProblemContentType, problemTypeBase, ServiceUnavailable } from "@notification-service/domain"
import * as Effect from "effect/Effect"

/** A problem response written directly, for failures outside any endpoint's declared errors. */
export const problemResponse = (
  status: number,
  slug: string,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {}
) =>
  HttpServerResponse.unsafeJson(
    { type: `${problemTypeBase}${slug}`, title, status, detail, ...extra },
    { status, contentType: ProblemContentType }
  )

/**
 * A failing query means the database is unreachable or overloaded as far as a client can tell:
 * 503 so it retries, with the cause in our log rather than in the response.
 */
export const orUnavailable = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, SqlError> | ServiceUnavailable, R> =>
  Effect.catchIf(
    effect,
    (error): error is Extract<E, SqlError> => error instanceof SqlError,
    (error) =>
      Effect.zipRight(
        Effect.logError("database error", error),
        Effect.fail(new ServiceUnavailable({ detail: "The database is unavailable; retry later." }))
      )
  ) as Effect.Effect<A, Exclude<E, SqlError> | ServiceUnavailable, R>
