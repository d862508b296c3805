import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { isGsm7, segments } from "../../src/rendering/index.js"

const gsm = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà"
const extension = "\f^{}\\[~]|€"

describe("segments", () => {
  it("counts an empty text as one GSM-7 segment", () => {
    expect(segments("")).toEqual({ encoding: "GSM-7", characters: 0, segments: 1, perSegment: 160 })
  })

  it.each([
    [160, 1, 160],
    [161, 2, 153],
    [153 * 2, 2, 153],
    [153 * 2 + 1, 3, 153],
    [153 * 3, 3, 153]
  ])("GSM-7: %i characters are %i segments of %i", (length, count, perSegment) => {
    expect(segments("a".repeat(length))).toEqual({ encoding: "GSM-7", characters: length, segments: count, perSegment })
  })

  it.each([
    [70, 1, 70],
    [71, 2, 67],
    [67 * 2, 2, 67],
    [67 * 2 + 1, 3, 67]
  ])("UCS-2: %i characters are %i segments of %i", (length, count, perSegment) => {
    expect(segments("ж".repeat(length))).toEqual({ encoding: "UCS-2", characters: length, segments: count, perSegment })
  })

  it("knows the GSM 03.38 alphabet beyond ASCII, and counts the extension table as two septets", () => {
    expect(segments(gsm)).toMatchObject({ encoding: "GSM-7", characters: [...gsm].length })
    expect(segments(extension)).toMatchObject({ encoding: "GSM-7", characters: 2 * [...extension].length })
    expect(isGsm7(gsm + extension)).toBe(true)
    // Only the capital C cedilla is in the alphabet; ESC cannot be sent on its own.
    for (const char of ["ç", "\u001b", "`", "ж", "😀"]) expect(isGsm7(char)).toBe(false)
  })

  it("counts the euro sign as two septets", () => {
    expect(segments("€".repeat(80))).toEqual({ encoding: "GSM-7", characters: 160, segments: 1, perSegment: 160 })
    expect(segments("€".repeat(81))).toEqual({ encoding: "GSM-7", characters: 162, segments: 2, perSegment: 153 })
  })

  it("does not split an extension character across two GSM-7 segments", () => {
    // 306 septets would fill two segments exactly, but the euro sign cannot start in one and end in the next.
    const text = `${"a".repeat(152)}€${"a".repeat(152)}`
    expect(segments(text)).toEqual({ encoding: "GSM-7", characters: 306, segments: 3, perSegment: 153 })
  })

  it("switches the whole text to UCS-2 for one character outside the alphabet", () => {
    expect(segments(`${"a".repeat(100)}ж`)).toEqual({ encoding: "UCS-2", characters: 101, segments: 2, perSegment: 67 })
  })

  it("counts an emoji as two UCS-2 units and never splits it", () => {
    expect(segments("😀".repeat(35))).toEqual({ encoding: "UCS-2", characters: 70, segments: 1, perSegment: 70 })
    expect(segments("😀".repeat(36))).toEqual({ encoding: "UCS-2", characters: 72, segments: 2, perSegment: 67 })
    // 134 units would fill two segments exactly, but the emoji's pair cannot be split.
    const text = `${"ж".repeat(66)}😀${"ж".repeat(66)}`
    expect(segments(text)).toEqual({ encoding: "UCS-2", characters: 134, segments: 3, perSegment: 67 })
  })

  it("always has room for the text, in whole segments", () => {
    const char = fc.oneof(
      fc.constantFrom(...gsm),
      fc.constantFrom(...extension),
      fc.constantFrom("ж", "😀", "ç", "中"),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 })
    )
    fc.assert(
      fc.property(fc.array(char, { maxLength: 400 }), (chars) => {
        const text = chars.join("")
        const result = segments(text)
        expect(result.segments).toBeGreaterThanOrEqual(1)
        expect(result.segments * result.perSegment).toBeGreaterThanOrEqual(result.characters)
        expect(result.segments === 1).toBe(result.characters <= (result.encoding === "GSM-7" ? 160 : 70))
        if (result.encoding === "UCS-2") expect(result.characters).toBe(text.length)
        else expect(result.characters).toBe(text.length + [...text].filter((c) => extension.includes(c)).length)
      })
    )
  })
})
