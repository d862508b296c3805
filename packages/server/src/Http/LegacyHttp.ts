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

export const LegacyHttpLive = HttpApiBuilder.group(NotificationApi, "legacy", (handlers) =>
  Effect.gen(function* () {
    const writes = yield* LegacyWrites
    return handlers
      .handle("putTemplate", ({ path, headers, payload }) =>
        Effect.flatMap(changeKey(headers), (change) =>
          samePath(path, payload).pipe(Effect.zipRight(writes.putTemplate(change, payload)))
        ).pipe(orUnavailable)
      )
      .handle("deleteTemplate", ({ path, headers, urlParams }) =>
        Effect.flatMap(changeKey(headers), (change) =>
          writes.deleteTemplate(change, path.legacy_id, urlParams.position)
        ).pipe(orUnavailable)
      )
      .handle("putNotification", ({ path, headers, payload }) =>
        Effect.flatMap(changeKey(headers), (change) =>
          samePath(path, payload).pipe(Effect.zipRight(writes.putNotification(change, payload)))
        ).pipe(orUnavailable)
      )
      .handle("putPreference", ({ path, headers, payload }) =>
        Effect.flatMap(changeKey(headers), (change) =>
          samePath(path, payload).pipe(Effect.zipRight(writes.putPreference(change, payload)))
        ).pipe(orUnavailable)
      )
      .handle("deletePreference", ({ path, headers, urlParams }) =>
        Effect.flatMap(changeKey(headers), (change) =>
          writes.deletePreference(change, path.legacy_id, urlParams.position)
        ).pipe(orUnavailable)
      )
  })
)
