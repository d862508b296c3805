import { describe, expect, it } from "@effect/vitest"
import { makeUuidv7, uuidv7, uuidv7Millis } from "@notification-service/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as fc from "fast-check"

const maxMillis = 2 ** 48 - 1
const millisArb = fc.integer({ min: 0, max: maxMillis })
const randomArb = fc.uint8Array({ minLength: 10, maxLength: 10 })
const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

const hexOf = (uuid: string) => uuid.replace(/-/g, "")
const byteAt = (uuid: string, index: number) => Number.parseInt(hexOf(uuid).slice(index * 2, index * 2 + 2), 16)

describe("uuidv7", () => {
  it("a known vector: RFC 9562 appendix A.6 layout", () => {
    // 0x017F22E279B0 = 1645557742000 ms; random bytes chosen so the version/variant bits get overwritten.
    const random = Uint8Array.from([0xcc, 0xc3, 0x98, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f])
    expect(uuidv7(1645557742000, random)).toBe("017f22e2-79b0-7cc3-98c4-dc0c0c07398f")
  })

  it("is lowercase 8-4-4-4-12 hex with version 7 and variant 10xx, and a valid Schema.UUID", () => {
    fc.assert(
      fc.property(millisArb, randomArb, (millis, random) => {
        const id = uuidv7(millis, random)
        expect(id).toMatch(shape)
        expect(byteAt(id, 6) >> 4).toBe(7)
        expect(byteAt(id, 8) >> 6).toBe(0b10)
        expect(Schema.is(Schema.UUID)(id)).toBe(true)
      })
    )
  })

  it("uuidv7Millis round-trips every 48-bit timestamp", () => {
    fc.assert(
      fc.property(millisArb, randomArb, (millis, random) => {
        expect(uuidv7Millis(uuidv7(millis, random))).toBe(millis)
      })
    )
    const random = new Uint8Array(10).fill(0xff)
    expect(uuidv7Millis(uuidv7(0, random))).toBe(0)
    expect(uuidv7Millis(uuidv7(maxMillis, random))).toBe(maxMillis)
  })

  it("keeps every random bit except the 6 version/variant bits", () => {
    fc.assert(
      fc.property(millisArb, randomArb, (millis, random) => {
        const id = uuidv7(millis, random)
        const bytes = Array.from({ length: 16 }, (_, i) => byteAt(id, i))
        expect(bytes[6]).toBe(0x70 | ((random[0] ?? 0) & 0x0f))
        expect(bytes[7]).toBe(random[1])
        expect(bytes[8]).toBe(0x80 | ((random[2] ?? 0) & 0x3f))
        expect(bytes.slice(9)).toEqual(Array.from(random.slice(3)))
      })
    )
  })

  it("ids sort lexicographically by time for increasing millis, whatever the random bytes", () => {
    fc.assert(
      fc.property(millisArb, millisArb, randomArb, randomArb, (a, b, ra, rb) => {
        fc.pre(a !== b)
        const [early, late] = a < b ? [a, b] : [b, a]
        const [idEarly, idLate] = [uuidv7(early, ra), uuidv7(late, rb)]
        expect(idEarly < idLate).toBe(true)
      })
    )
  })

  it("a sequence of increasing timestamps gives an already sorted list of ids", () => {
    fc.assert(
      fc.property(fc.uniqueArray(millisArb, { minLength: 2, maxLength: 30 }), randomArb, (millis, random) => {
        const increasing = [...millis].sort((x, y) => x - y)
        const ids = increasing.map((m) => uuidv7(m, random))
        expect([...ids].sort()).toEqual(ids)
      })
    )
  })

  it("uses only the first 10 random bytes", () => {
    const ten = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    const more = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    expect(uuidv7(123, more)).toBe(uuidv7(123, ten))
  })

  it("floors fractional millis and clamps negative ones to 0", () => {
    const random = new Uint8Array(10)
    expect(uuidv7Millis(uuidv7(1000.9, random))).toBe(1000)
    expect(uuidv7Millis(uuidv7(-5, random))).toBe(0)
  })

  it.each([0, 1, 9])("throws RangeError with %i random bytes", (length) => {
    expect(() => uuidv7(0, new Uint8Array(length))).toThrow(RangeError)
  })

  it("different random bytes give different ids for the same millisecond", () => {
    fc.assert(
      fc.property(millisArb, randomArb, randomArb, (millis, a, b) => {
        // Only compare inputs that differ outside the overwritten version/variant bits.
        const mask = (r: Uint8Array) => [(r[0] ?? 0) & 0x0f, r[1], (r[2] ?? 0) & 0x3f, ...r.slice(3)].join(",")
        fc.pre(mask(a) !== mask(b))
        expect(uuidv7(millis, a)).not.toBe(uuidv7(millis, b))
      })
    )
  })
})

describe("makeUuidv7", () => {
  it.effect("encodes the clock's current time (TestClock)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(1_700_000_000_123)
      const id = yield* makeUuidv7
      expect(id).toMatch(shape)
      expect(uuidv7Millis(id)).toBe(1_700_000_000_123)
    })
  )

  it.effect("follows the clock as it moves and ids sort by creation time", () =>
    Effect.gen(function* () {
      const ids: Array<string> = []
      for (const t of [5, 1_000, 86_400_000, 1_700_000_000_000]) {
        yield* TestClock.setTime(t)
        const id = yield* makeUuidv7
        expect(uuidv7Millis(id)).toBe(t)
        ids.push(id)
      }
      expect([...ids].sort()).toEqual(ids)
    })
  )

  it.effect("two ids in the same millisecond differ (random part)", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(42)
      const a = yield* makeUuidv7
      const b = yield* makeUuidv7
      expect(a).not.toBe(b)
      expect(uuidv7Millis(a)).toBe(42)
      expect(uuidv7Millis(b)).toBe(42)
    })
  )
})
