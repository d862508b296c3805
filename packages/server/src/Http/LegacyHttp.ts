import { HttpApiBuilder } from "@effect/platform"
import { type ChangeKey, LegacyWrites } from "@notification-service/core"
import { CurrentPrincipal, NotificationApi, Unprocessable } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { requireScope } from "./Authentication.js"
import { orUnavailable } from "./Problems.js"

/** The change this request applies: its idempotency key, scoped to the caller's API key. */
const changeKey = (headers: { readonly "idempotency-key": string }) =>
  requireScope("migration:write").pipe(
    Effect.zipRight(CurrentPrincipal),
    Effect.map((principal): ChangeKey => ({ apiKeyId: principal.keyId, key: headers["idempotency-key"] }))
  )

const samePath = (path: { readonly legacy_id: number }, payload: { readonly legacy_id: number }) =>
  path.legacy_id === payload.legacy_id
    ? Effect.void
    : Effect.fail(
        new Unprocessable({
          detail: "The body's legacy_id differs from the path's.",
          errors: [{ path: "legacy_id", message: `must be ${path.legacy_id}, as in the path` }]
        })
      )

/** An upsert handler: the row must name the path's id; it is written under the request's change key. */
const upsert =
  <Row extends { readonly legacy_id: number }, A, E, R>(
    write: (change: ChangeKey, row: Row) => Effect.Effect<A, E, R>
  ) =>
  (request: {
    readonly path: { readonly legacy_id: number }
    readonly headers: { readonly "idempotency-key": string }
    readonly payload: Row
  }) =>
    Effect.flatMap(changeKey(request.headers), (change) =>
      samePath(request.path, request.payload).pipe(Effect.zipRight(write(change, request.payload)))
    ).pipe(orUnavailable)

/** A deletion handler, at the position the request names. */
const remove =
  <A, E, R>(write: (change: ChangeKey, legacyId: number, position: number) => Effect.Effect<A, E, R>) =>
  (request: {
    readonly path: { readonly legacy_id: number }
    readonly headers: { readonly "idempotency-key": string }
    readonly urlParams: { readonly position: number }
  }) =>
    Effect.flatMap(changeKey(request.headers), (change) =>
      write(change, request.path.legacy_id, request.urlParams.position)
    ).pipe(orUnavailable)

export const LegacyHttpLive = HttpApiBuilder.group(NotificationApi, "legacy", (handlers) =>
  Effect.gen(function* () {
    const writes = yield* LegacyWrites
    return handlers
      .handle("putTemplate", upsert(writes.putTemplate))
      .handle("deleteTemplate", remove(writes.deleteTemplate))
      .handle("putNotification", upsert(writes.putNotification))
      .handle("putPreference", upsert(writes.putPreference))
      .handle("deletePreference", remove(writes.deletePreference))
  })
)
