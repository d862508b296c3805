import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { ApiKeys, DatabaseConfig, parseApiKeys, sha256 } from "@notification-service/core"
import { publicScopes } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/**
 * `API_KEYS` when set. Otherwise, on the embedded database only, a demo key with every scope:
 * generated on first start, printed once, and kept as a hash in `DATA_DIR` so restarts accept it.
 */
export const ApiKeysLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const configured = yield* ApiKeys.pipe(Effect.provide(ApiKeys.fromConfig))
    if (configured.keys.length > 0) return Layer.succeed(ApiKeys, configured)
    const database = yield* DatabaseConfig
    if (Option.isSome(database.url)) {
      yield* Effect.logWarning("API_KEYS is empty: every /api request will be refused with 401")
      return Layer.succeed(ApiKeys, configured)
    }
    mkdirSync(database.dataDir, { recursive: true })
    const file = join(database.dataDir, "demo-api-key.sha256")
    if (existsSync(file)) {
      const hash = readFileSync(file, "utf8").trim()
      yield* Effect.logInfo(
        `demo API key: the one printed at first start (its hash is in ${file}; delete it for a new key)`
      )
      return ApiKeys.layer(parseApiKeys(`demo:sha256-${hash}:*`))
    }
    const key = `ns_demo_${randomBytes(24).toString("base64url")}`
    writeFileSync(file, `${sha256(key).toString("hex")}\n`, { mode: 0o600 })
    // Printed, not logged: log pipelines keep what they receive, and this is a credential.
    process.stdout.write(`\n  Demo API key (scopes: ${publicScopes.join(", ")}), shown once:\n\n    ${key}\n\n`)
    yield* Effect.logInfo("demo API key created and printed once").pipe(Effect.annotateLogs({ hash_file: file }))
    return ApiKeys.layer(parseApiKeys(`demo:${key}:*`))
  })
)
