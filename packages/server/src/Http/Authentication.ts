import { ApiKeys } from "@notification-service/core"
import { Authentication, CurrentPrincipal, Forbidden, type Scope, Unauthorized } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function* () {
    const apiKeys = yield* ApiKeys
    return {
      bearer: (token) =>
        Option.match(apiKeys.authenticate(Redacted.value(token)), {
          onNone: () =>
            Effect.fail(
              new Unauthorized({
                detail: "Send a valid API key as `Authorization: Bearer <key>`."
              })
            ),
          onSome: (principal) => Effect.as(Effect.annotateCurrentSpan("api_key.id", principal.keyId), principal)
        })
    }
  })
)

/** Fails with 403 unless the request's API key carries `scope`. */
export const requireScope = (scope: Scope) =>
  Effect.flatMap(CurrentPrincipal, (principal) =>
    principal.scopes.has(scope)
      ? Effect.void
      : Effect.fail(
          new Forbidden({
            required_scope: scope,
            detail: `API key '${principal.keyId}' lacks the scope '${scope}'.`
          })
        )
  )
