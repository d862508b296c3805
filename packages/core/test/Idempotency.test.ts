import { describe, expect, it } from "@effect/vitest"
import { canonicalJson, requestHash } from "@notification-service/core"
import * as fc from "fast-check"

describe("canonicalJson / requestHash", () => {
  it("ignores key order and undefined members, keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null }, e: undefined })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}')
    expect(requestHash({ a: 1, b: 2 })).toBe(requestHash({ b: 2, a: 1 }))
    expect(requestHash([1, 2])).not.toBe(requestHash([2, 1]))
  })

  it("is JSON that parses back to an equal value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)))
      })
    )
  })
})
