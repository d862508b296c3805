import { SqlError } from "@effect/sql/SqlError"
import { describe, expect, it } from "@effect/vitest"
import {
  decodeCursor,
  decodeRows,
  encodeCursor,
  IntFromPg,
  isUniqueViolation,
  likePrefix,
  sqlState,
  toPage
} from "@notification-service/core"
import { BadRequest } from "@notification-service/domain"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"

const base64url = (text: string) => Buffer.from(text, "utf8").toString("base64url")

describe("encodeCursor / decodeCursor", () => {
  it.effect("round-trips a (created_at, id) key", () =>
    Effect.gen(function* () {
      const key = ["2024-05-01T12:00:00.000Z", "0192f1c2-7b7e-7cc3-9a51-3f1c2b9d4e10"] as const
      const cursor = encodeCursor(key)
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(yield* decodeCursor(cursor)).toEqual(key)
    })
  )

  it.effect("no cursor decodes to undefined", () =>
    Effect.gen(function* () {
      expect(yield* decodeCursor(undefined)).toBeUndefined()
    })
  )

  it("round-trips any pair of strings, and the cursor is URL-safe", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), fc.string({ unit: "grapheme" }), (a, b) => {
        const cursor = encodeCursor([a, b])
        expect(cursor).toMatch(/^[A-Za-z0-9_-]*$/)
        expect(Effect.runSync(decodeCursor(cursor))).toEqual([a, b])
      })
    )
  })

  const garbage: ReadonlyArray<readonly [string, string]> = [
    ["empty string", ""],
    ["not base64 json", "!!!not-a-cursor!!!"],
    ["plain text", base64url("hello")],
    ["a JSON object", base64url(JSON.stringify({ a: 1 }))],
    ["a one-element array", base64url(JSON.stringify(["x"]))],
    ["a three-element array", base64url(JSON.stringify(["x", "y", "z"]))],
    ["numbers in the key", base64url(JSON.stringify([1, "x"]))],
    ["null", base64url("null")],
    ["truncated", encodeCursor(["2024-05-01T12:00:00.000Z", "id"]).slice(0, 10)]
  ]

  it.effect.each(garbage)("refuses %s with a BadRequest about the cursor", ([, cursor]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decodeCursor(cursor))
      expect(error).toBeInstanceOf(BadRequest)
      expect(error._tag).toBe("BadRequest")
      expect(error.detail).toBe("The cursor is not one this service issued.")
      expect(error.errors).toEqual([{ path: "cursor", message: "invalid cursor" }])
    })
  )

  it("any string either decodes to a pair of strings or fails with BadRequest (never dies)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map(base64url),
          fc.jsonValue().map((v) => base64url(JSON.stringify(v)))
        ),
        (cursor) => {
          const exit = Effect.runSyncExit(decodeCursor(cursor))
          if (Exit.isSuccess(exit)) {
            expect(exit.value).toHaveLength(2)
            expect(exit.value?.every((part) => typeof part === "string")).toBe(true)
          } else {
            const failure = Effect.runSync(Effect.flip(decodeCursor(cursor)))
            expect(failure).toBeInstanceOf(BadRequest)
          }
        }
      )
    )
  })
})

describe("toPage", () => {
  interface Row {
    readonly created: string
    readonly id: string
  }
  const rowsArb = fc.array(fc.record({ created: fc.string({ maxLength: 10 }), id: fc.uuid() }), { maxLength: 30 })
  const cursorOf = (row: Row) => [row.created, row.id]

  it("with limit + 1 rows: returns limit rows, has_more, and a cursor of the last returned row", () => {
    const rows: ReadonlyArray<Row> = [
      { created: "c3", id: "a" },
      { created: "c2", id: "b" },
      { created: "c1", id: "c" }
    ]
    const page = toPage(rows, 2, cursorOf)
    expect(page.data).toEqual(rows.slice(0, 2))
    expect(page.pagination).toEqual({ limit: 2, has_more: true, next_cursor: encodeCursor(["c2", "b"]) })
    expect(Effect.runSync(decodeCursor(page.pagination.next_cursor ?? undefined))).toEqual(["c2", "b"])
  })

  it("with exactly limit rows: no more pages", () => {
    const rows: ReadonlyArray<Row> = [
      { created: "c2", id: "a" },
      { created: "c1", id: "b" }
    ]
    expect(toPage(rows, 2, cursorOf)).toEqual({
      data: rows,
      pagination: { limit: 2, has_more: false, next_cursor: null }
    })
  })

  it("with no rows: an empty last page", () => {
    expect(toPage([], 50, cursorOf)).toEqual({
      data: [],
      pagination: { limit: 50, has_more: false, next_cursor: null }
    })
  })

  it("for any rows and limit: at most limit rows, has_more iff rows were cut, cursor iff has_more", () => {
    fc.assert(
      fc.property(rowsArb, fc.integer({ min: 1, max: 40 }), (rows, limit) => {
        const page = toPage(rows, limit, cursorOf)
        expect(page.pagination.limit).toBe(limit)
        expect(page.data).toEqual(rows.slice(0, limit))
        expect(page.pagination.has_more).toBe(rows.length > limit)
        if (rows.length > limit) {
          const last = rows[limit - 1]
          if (last === undefined) throw new Error("unreachable")
          expect(page.pagination.next_cursor).toBe(encodeCursor(cursorOf(last)))
          expect(Effect.runSync(decodeCursor(page.pagination.next_cursor ?? ""))).toEqual(cursorOf(last))
        } else {
          expect(page.pagination.next_cursor).toBeNull()
        }
      })
    )
  })

  it("walking pages with the cursors visits every row exactly once", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 10 }),
        (values, limit) => {
          // A fake repository: rows sorted descending, keyset "strictly before the cursor".
          const sorted = [...values].sort((a, b) => b - a)
          const fetch = (before: number | undefined) =>
            sorted.filter((v) => before === undefined || v < before).slice(0, limit + 1)
          const seen: Array<number> = []
          let before: number | undefined
          for (let guard = 0; guard <= sorted.length + 1; guard++) {
            const page = toPage(fetch(before), limit, (v) => [String(v), String(v)])
            seen.push(...page.data)
            if (!page.pagination.has_more) break
            const key = Effect.runSync(decodeCursor(page.pagination.next_cursor ?? ""))
            before = Number(key?.[0])
          }
          expect(seen).toEqual(sorted)
        }
      )
    )
  })
})

describe("Sql helpers", () => {
  /** Interprets a LIKE pattern with `\` as the escape character. */
  const like = (text: string, pattern: string): boolean => {
    let source = ""
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i] ?? ""
      if (c === "\\") {
        i++
        source += (pattern[i] ?? "").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      } else if (c === "%") source += "[\\s\\S]*"
      else if (c === "_") source += "[\\s\\S]"
      else source += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    }
    return new RegExp(`^${source}$`, "u").test(text)
  }

  it.each([
    ["abc", "abc%"],
    ["", "%"],
    ["50%", "50\\%%"],
    ["a_b", "a\\_b%"],
    ["back\\slash", "back\\\\slash%"],
    ["%_\\", "\\%\\_\\\\%"]
  ])("likePrefix(%j) = %j", (prefix, expected) => {
    expect(likePrefix(prefix)).toBe(expected)
  })

  it("the pattern matches exactly the strings starting with the prefix", () => {
    const alphabet = fc.constantFrom("a", "b", "%", "_", "\\", ".", "*")
    const textArb = fc.array(alphabet, { maxLength: 8 }).map((cs) => cs.join(""))
    fc.assert(
      fc.property(textArb, textArb, textArb, (prefix, suffix, other) => {
        const pattern = likePrefix(prefix)
        expect(like(prefix + suffix, pattern)).toBe(true)
        expect(like(other, pattern)).toBe(other.startsWith(prefix))
      })
    )
  })

  it("IntFromPg decodes numbers and pg's bigint strings", () => {
    expect(Schema.decodeUnknownSync(IntFromPg)(5)).toBe(5)
    expect(Schema.decodeUnknownSync(IntFromPg)("12345678901")).toBe(12345678901)
    expect(Either.isLeft(Schema.decodeUnknownEither(IntFromPg)("twelve"))).toBe(true)
  })

  it("isUniqueViolation recognises SQLSTATE 23505 on a SqlError only", () => {
    const unique = new SqlError({ cause: { code: "23505" } })
    expect(sqlState(unique)).toBe("23505")
    expect(isUniqueViolation(unique)).toBe(true)
    expect(isUniqueViolation(new SqlError({ cause: { code: "23503" } }))).toBe(false)
    expect(isUniqueViolation(new SqlError({ cause: new Error("boom") }))).toBe(false)
    expect(sqlState(new SqlError({}))).toBeUndefined()
    expect(isUniqueViolation({ code: "23505" })).toBe(false)
    expect(isUniqueViolation(new Error("23505"))).toBe(false)
  })

  it.effect("decodeRows decodes rows and dies on a row that does not fit", () =>
    Effect.gen(function* () {
      const schema = Schema.Struct({ n: IntFromPg })
      expect(yield* decodeRows(schema)([{ n: "1" }, { n: 2 }])).toEqual([{ n: 1 }, { n: 2 }])
      const exit = yield* Effect.exit(decodeRows(schema)([{ n: "x" }]))
      expect(Exit.isFailure(exit) && Cause.isDie(exit.cause)).toBe(true)
    })
  )
})
