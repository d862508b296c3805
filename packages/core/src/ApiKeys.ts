import { createHash, timingSafeEqual } from "node:crypto"
import { type Principal, publicScopes, Scope } from "@notification-service/domain"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { ApiKeysConfig } from "./AppConfig.js"

export interface ApiKey {
  readonly id: string
  /** SHA-256 of the key: only hashes are kept in memory after start-up. */
  readonly sha256: Buffer
  readonly scopes: ReadonlySet<Scope>
}

export const sha256 = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest()

const isScope = Schema.is(Scope)

/**
 * `API_KEYS` holds `id:credential:scopes` entries separated by `;` or newlines. The credential is
 * the key itself (no `:`) or `sha256-<64 hex>` of it; scopes are comma-separated, `*` meaning every public scope
 * (internal ones such as `migration:write` are granted by name: `*,migration:write`).
 */
export const parseApiKeys = (text: string): ReadonlyArray<ApiKey> => {
  const entries = text
    .split(/[;\n]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
  const keys = entries.map((entry, index) => {
    // Scopes contain ':' themselves, so only the first two separators split.
    const match = /^([^:]+):([^:]+):(.+)$/.exec(entry)
    const [, id, credential, scopeList] = match ?? []
    if (id === undefined || credential === undefined || scopeList === undefined) {
      throw new Error(`API_KEYS entry ${index + 1} must look like id:credential:scope,scope`)
    }
    const hashed = /^sha256-([0-9a-fA-F]{64})$/.exec(credential)
    if (hashed === null && credential.startsWith("sha256-")) {
      throw new Error(`API_KEYS entry '${id}': a hashed credential is sha256- and 64 hex digits`)
    }
    if (hashed === null && credential.length < 16) {
      throw new Error(`API_KEYS entry '${id}': keys must be at least 16 characters`)
    }
    const scopes = scopeList
      .split(",")
      .flatMap((s): ReadonlyArray<string> => (s.trim() === "*" ? publicScopes : [s.trim()]))
    for (const scope of scopes) {
      if (!isScope(scope)) throw new Error(`API_KEYS entry '${id}': unknown scope '${scope}'`)
    }
    return {
      id,
      sha256: hashed?.[1] !== undefined ? Buffer.from(hashed[1], "hex") : sha256(credential),
      scopes: new Set(scopes.filter(isScope))
    }
  })
  const ids = new Set(keys.map((k) => k.id))
  if (ids.size !== keys.length) throw new Error("API_KEYS: key ids must be unique")
  return keys
}

export class ApiKeys extends Context.Tag("core/ApiKeys")<
  ApiKeys,
  {
    readonly keys: ReadonlyArray<ApiKey>
    readonly authenticate: (token: string) => Option.Option<Principal>
  }
>() {
  static readonly make = (keys: ReadonlyArray<ApiKey>): Context.Tag.Service<ApiKeys> => ({
    keys,
    authenticate: (token) => {
      if (token.length === 0) return Option.none()
      const digest = sha256(token)
      // Compare against every key so the time taken does not reveal which one matched.
      let match: ApiKey | undefined
      for (const key of keys) {
        if (timingSafeEqual(key.sha256, digest) && match === undefined) match = key
      }
      return match === undefined ? Option.none() : Option.some({ keyId: match.id, scopes: match.scopes })
    }
  })

  static readonly layer = (keys: ReadonlyArray<ApiKey>) => Layer.succeed(ApiKeys, ApiKeys.make(keys))

  /** Keys from `API_KEYS`; a malformed entry stops start-up with the reason. */
  static readonly fromConfig = Layer.effect(
    ApiKeys,
    Effect.gen(function* () {
      const text = yield* ApiKeysConfig
      const keys = yield* Effect.try({
        try: () => (Option.isSome(text) ? parseApiKeys(Redacted.value(text.value)) : []),
        catch: (error) => (error instanceof Error ? error : new Error(String(error)))
      })
      return ApiKeys.make(keys)
    }).pipe(Effect.orDie)
  )
}
