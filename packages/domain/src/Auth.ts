import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import { Unauthorized } from "./Problem.js"

export const Scope = Schema.Literal(
  "notifications:read",
  "notifications:write",
  "templates:read",
  "templates:write",
  "preferences:read",
  "preferences:write",
  "migration:write"
)
export type Scope = typeof Scope.Type

export const allScopes: ReadonlyArray<Scope> = Scope.literals

/** Internal scopes are granted by name only: `*` (every public scope) does not include them. */
export const internalScopes: ReadonlyArray<Scope> = ["migration:write"]
export const publicScopes: ReadonlyArray<Scope> = allScopes.filter((scope) => !internalScopes.includes(scope))

/** The API key a request was authenticated with. */
export interface Principal {
  readonly keyId: string
  readonly scopes: ReadonlySet<Scope>
}

export class CurrentPrincipal extends Context.Tag("@notification-service/domain/CurrentPrincipal")<
  CurrentPrincipal,
  Principal
>() {}

export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  failure: Unauthorized.Problem,
  provides: CurrentPrincipal,
  security: {
    bearer: HttpApiSecurity.bearer.pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "An API key: `Authorization: Bearer <key>`. Each key carries scopes such as `notifications:write`."
      )
    )
  }
}) {}
