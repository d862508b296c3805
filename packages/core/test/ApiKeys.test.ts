import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { ApiKeys, parseApiKeys, sha256 } from "@notification-service/core"
import type { Scope } from "@notification-service/domain"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as fc from "fast-check"

const everyScope: ReadonlyArray<Scope> = [
  "notifications:read",
  "notifications:write",
  "templates:read",
  "templates:write",
  "preferences:read",
  "preferences:write"
]

const hex = (value: string) => createHash("sha256").update(value, "utf8").digest("hex")

const plainKey = "plain-key-0123456789"
const hashedKey = "hashed-key-abcdefghij"

const parseError = (text: string): string => {
  try {
    parseApiKeys(text)
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  throw new Error(`expected ${JSON.stringify(text)} to be refused`)
}

describe("parseApiKeys", () => {
  it("parses a plain key with its scopes, keeping only the SHA-256 of the key", () => {
    const [key, ...rest] = parseApiKeys(`svc:${plainKey}:notifications:read,templates:write`)
    expect(rest).toEqual([])
    expect(key?.id).toBe("svc")
    expect(key?.scopes).toEqual(new Set(["notifications:read", "templates:write"]))
    expect(key?.sha256.toString("hex")).toBe(hex(plainKey))
    expect(key?.sha256).toEqual(sha256(plainKey))
    expect(JSON.stringify(key)).not.toContain(plainKey)
  })

  it("parses a sha256-<64 hex> credential as the hash itself (either case)", () => {
    const digest = hex(hashedKey)
    const [lower] = parseApiKeys(`a:sha256-${digest}:templates:read`)
    const [upper] = parseApiKeys(`a:sha256-${digest.toUpperCase()}:templates:read`)
    expect(lower?.sha256.toString("hex")).toBe(digest)
    expect(upper?.sha256.toString("hex")).toBe(digest)
  })

  it("`*` grants every scope", () => {
    const [key] = parseApiKeys(`admin:${plainKey}:*`)
    expect(key?.scopes).toEqual(new Set(everyScope))
  })

  it("splits entries on ';' and newlines, trims whitespace and skips empty entries", () => {
    const text = [
      `  one:${plainKey}1:notifications:read ; two:${plainKey}2:templates:read`,
      "",
      ` three:sha256-${hex(hashedKey)}:* \r`,
      ";;",
      `four:${plainKey}4:preferences:read, preferences:write`
    ].join("\n")
    const keys = parseApiKeys(text)
    expect(keys.map((k) => k.id)).toEqual(["one", "two", "three", "four"])
    expect(keys[3]?.scopes).toEqual(new Set(["preferences:read", "preferences:write"]))
  })

  it("'*' grants every public scope but not the internal migration:write, which is granted by name", () => {
    const [star, migration] = parseApiKeys(`a:${plainKey}a:*;b:${plainKey}b:*,migration:write`)
    expect(star?.scopes.has("templates:write")).toBe(true)
    expect(star?.scopes.has("migration:write")).toBe(false)
    expect(migration?.scopes.has("migration:write")).toBe(true)
    expect(migration?.scopes.has("notifications:read")).toBe(true)
  })

  it("an empty or blank value has no keys", () => {
    expect(parseApiKeys("")).toEqual([])
    expect(parseApiKeys(" ;\n ; ")).toEqual([])
  })

  it.each([
    ["no separators", "justakey", 1],
    ["only id and credential", `id:${plainKey}`, 1],
    ["empty credential", "id::notifications:read", 1],
    ["empty id", `:${plainKey}:notifications:read`, 1],
    ["empty scopes", `id:${plainKey}:`, 1],
    ["second entry malformed", `ok:${plainKey}:*;broken`, 2]
  ])("refuses a malformed entry (%s), naming its position", (_label, text, position) => {
    expect(parseError(text)).toBe(`API_KEYS entry ${position} must look like id:credential:scope,scope`)
  })

  it.each([
    ["notifications:delete", "notifications:delete"],
    ["notifications:read,admin", "admin"],
    ["templates:read,**", "**"],
    ["templates:read,", ""],
    ["Templates:Read", "Templates:Read"]
  ])("refuses the unknown scope in %j", (scopes, unknown) => {
    expect(parseError(`svc:${plainKey}:${scopes}`)).toBe(`API_KEYS entry 'svc': unknown scope '${unknown}'`)
  })

  it("refuses plain keys shorter than 16 characters, accepts 16", () => {
    expect(parseError("svc:fifteen-chars-x:*".replace("fifteen-chars-x", "x".repeat(15)))).toBe(
      "API_KEYS entry 'svc': keys must be at least 16 characters"
    )
    expect(parseApiKeys(`svc:${"x".repeat(16)}:*`)).toHaveLength(1)
  })

  it("refuses duplicate ids", () => {
    expect(parseError(`svc:${plainKey}a:*;other:${plainKey}b:*;svc:${plainKey}c:templates:read`)).toBe(
      "API_KEYS: key ids must be unique"
    )
  })

  it("parses any well-formed list it is given", () => {
    const idArb = fc.stringMatching(/^[a-z][a-z0-9_-]{0,15}$/)
    const keyArb = fc.stringMatching(/^[A-Za-z0-9_.~+/=-]{16,40}$/)
    const scopesArb = fc.oneof(
      fc.constant<"*">("*"),
      fc.uniqueArray(fc.constantFrom(...everyScope), { minLength: 1, maxLength: 6 })
    )
    const entriesArb = fc.uniqueArray(fc.record({ id: idArb, key: keyArb, hashed: fc.boolean(), scopes: scopesArb }), {
      selector: (e) => e.id,
      minLength: 1,
      maxLength: 8
    })
    fc.assert(
      fc.property(entriesArb, fc.constantFrom(";", "\n", " ; ", "\n\n"), (entries, separator) => {
        const text = entries
          .map((e) => {
            const credential = e.hashed ? `sha256-${hex(e.key)}` : e.key
            return `${e.id}:${credential}:${e.scopes === "*" ? "*" : e.scopes.join(",")}`
          })
          .join(separator)
        const keys = parseApiKeys(text)
        expect(keys.map((k) => k.id)).toEqual(entries.map((e) => e.id))
        keys.forEach((key, i) => {
          const entry = entries[i]
          if (entry === undefined) throw new Error("missing entry")
          expect(key.sha256.toString("hex")).toBe(hex(entry.key))
          expect(key.scopes).toEqual(new Set(entry.scopes === "*" ? everyScope : entry.scopes))
        })
      })
    )
  })
})

describe("ApiKeys.make(...).authenticate", () => {
  const keys = parseApiKeys(
    [`plain:${plainKey}:notifications:read,notifications:write`, `hashed:sha256-${hex(hashedKey)}:*`].join(";")
  )
  const service = ApiKeys.make(keys)

  it("exposes the parsed keys", () => {
    expect(service.keys).toBe(keys)
  })

  it("finds the principal of a plain key", () => {
    expect(service.authenticate(plainKey)).toEqual(
      Option.some({ keyId: "plain", scopes: new Set(["notifications:read", "notifications:write"]) })
    )
  })

  it("finds the principal of a key configured by its hash", () => {
    expect(service.authenticate(hashedKey)).toEqual(Option.some({ keyId: "hashed", scopes: new Set(everyScope) }))
  })

  it.each([
    ["empty", ""],
    ["wrong", "wrong-key-0123456789"],
    ["padded", ` ${plainKey}`],
    ["prefix", plainKey.slice(0, -1)],
    ["longer", `${plainKey}x`],
    ["other case", plainKey.toUpperCase()],
    ["the configured hash string", `sha256-${hex(hashedKey)}`],
    ["the bare hash", hex(hashedKey)],
    ["the key id", "plain"]
  ])("refuses a %s token", (_label, token) => {
    expect(Option.isNone(service.authenticate(token))).toBe(true)
  })

  it("refuses every other token", () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64 }).filter((s) => s !== plainKey && s !== hashedKey),
        (token) => {
          expect(service.authenticate(token)).toEqual(Option.none())
        }
      )
    )
  })

  it("authenticates each of many keys as itself", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-zA-Z0-9]{16,24}$/), { minLength: 1, maxLength: 6 }), (raw) => {
        const many = ApiKeys.make(parseApiKeys(raw.map((key, i) => `k${i}:${key}:templates:read`).join("\n")))
        raw.forEach((key, i) => {
          expect(Option.map(many.authenticate(key), (p) => p.keyId)).toEqual(Option.some(`k${i}`))
        })
      })
    )
  })

  it("with no keys nothing authenticates", () => {
    expect(Option.isNone(ApiKeys.make([]).authenticate(plainKey))).toBe(true)
  })
})

describe("ApiKeys.fromConfig", () => {
  const load = (env: ReadonlyArray<readonly [string, string]>) =>
    Effect.map(ApiKeys, (service) => service).pipe(
      Effect.provide(ApiKeys.fromConfig),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(env)))
    )

  it.effect("reads API_KEYS", () =>
    Effect.gen(function* () {
      const service = yield* load([["API_KEYS", `svc:${plainKey}:*`]])
      expect(service.keys.map((k) => k.id)).toEqual(["svc"])
      expect(Option.isSome(service.authenticate(plainKey))).toBe(true)
    })
  )

  it.effect("without API_KEYS there are no keys", () =>
    Effect.gen(function* () {
      const service = yield* load([])
      expect(service.keys).toEqual([])
    })
  )

  it.effect("a malformed API_KEYS stops start-up", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(load([["API_KEYS", "svc:short:*"]]))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(Cause.isDie(exit.cause)).toBe(true)
    })
  )

  // Regression: the parse error used to be wrapped in an UnknownException without its reason.
  it.effect("a malformed API_KEYS stops start-up with the reason in the logged cause", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(load([["API_KEYS", "svc:short:*"]]))
      if (Exit.isSuccess(exit)) throw new Error("expected start-up to fail")
      expect(Cause.pretty(exit.cause)).toContain("API_KEYS entry 'svc': keys must be at least 16 characters")
    })
  )
})

describe("hashed credentials", () => {
  it("refuses a sha256- credential that is not 64 hex digits instead of taking it as a plain key", () => {
    expect(() => parseApiKeys(`svc:sha256-${"a".repeat(63)}:*`)).toThrow(/64 hex digits/)
  })
})
