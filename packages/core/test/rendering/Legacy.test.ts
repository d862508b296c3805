import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { Legacy } from "../../src/rendering/index.js"

/**
 * [template, context (as the request's JSON), what the monolith's `render_template` returned].
 * The expected strings were produced by Python 3.11 running `render_template` on
 * `json.loads` of each context; they are pasted here, not computed.
 */
const monolith: ReadonlyArray<readonly [string, Record<string, unknown>, string]> = [
  [
    "Hello {name}, we received your payment of {amount}.",
    { name: "Ada", amount: "€12.50" },
    "Hello Ada, we received your payment of €12.50."
  ],
  ["{n} items", { n: 42 }, "42 items"],
  ["{n}", { n: -7 }, "-7"],
  ["{x}", { x: 12.5 }, "12.5"],
  ["{x}", { x: -0.5 }, "-0.5"],
  ["{x}", { x: 0.1 }, "0.1"],
  ["{x}", { x: 1e-5 }, "1e-05"],
  ["{x}", { x: 0.0001 }, "0.0001"],
  ["{x}", { x: 123456789.125 }, "123456789.125"],
  ["{x}", { x: 1e300 }, "1e+300"],
  ["{x} {y}", { x: true, y: false }, "True False"],
  ["{x}", { x: null }, "None"],
  ["{x}", { x: "" }, ""],
  ["{x}", { x: ["a", 1, 2.5, true, null] }, "['a', 1, 2.5, True, None]"],
  [
    "{x}",
    { x: { k: "v", n: null, b: false, l: [1, { z: "w" }] } },
    "{'k': 'v', 'n': None, 'b': False, 'l': [1, {'z': 'w'}]}"
  ],
  ["{x}", { x: [[1, 2], { a: [3] }] }, "[[1, 2], {'a': [3]}]"],
  ["{x}", { x: {} }, "{}"],
  ["{x}", { x: [] }, "[]"],
  [
    "{x}",
    { x: ["it's", 'say "hi"', "both ' and \"", "back\\slash", "new\nline\ttab\rcr"] },
    "[\"it's\", 'say \"hi\"', 'both \\' and \"', 'back\\\\slash', 'new\\nline\\ttab\\rcr']"
  ],
  ["{x}", { x: { "it's": "q" } }, "{\"it's\": 'q'}"],
  [
    "{x}",
    { x: ["\u0000\u001f\u007f", "café", "\u00a0nbsp", "zero\u200bwidth", "emoji 😀", "\u2028", "\ue000", "\udc00"] },
    "['\\x00\\x1f\\x7f', 'café', '\\xa0nbsp', 'zero\\u200bwidth', 'emoji 😀', '\\u2028', '\\ue000', '\\udc00']"
  ],
  ["Hi {name}, {unknown} stays", { name: "Ada" }, "Hi Ada, {unknown} stays"],
  ["{a} {b}", { a: "{b}", b: "B" }, "B B"],
  ["{a} {b}", { b: "{a}", a: "A" }, "A A"],
  ["{a}", { a: "{b}", b: "{c}", c: "C" }, "C"],
  ["{x}", { x: "{x}" }, "{x}"],
  ["{a}{a}{a}", { a: "x" }, "xxx"],
  ["{{name}}", { name: "Ada" }, "{Ada}"],
  ["{ name } {Name} {name}", { name: "Ada" }, "{ name } {Name} Ada"],
  ["{name}", { name: "$& $1 $$" }, "$& $1 $$"],
  ["{first name} {first_name}", { "first name": "A", first_name: "B" }, "A B"],
  ["{}", { "": "empty key" }, "empty key"],
  ["Total: {amount} ({items} items)", { amount: 12.5, items: ["a", "b"] }, "Total: 12.5 (['a', 'b'] items)"]
]

describe("Legacy.render", () => {
  it.each(monolith)("%j with %j is what render_template gave", (template, context, expected) => {
    expect(Legacy.render(template, context)).toBe(expected)
  })

  it("prints an integral number as an int: after JSON.parse, 1.0 and 1 are the same number", () => {
    // Python printed `1.0` for a JSON `1.0`; the parsed request no longer says which it was.
    expect(Legacy.render("{x}", JSON.parse('{"x": 1.0}'))).toBe("1")
    expect(Legacy.render("{x}", { x: -0 })).toBe("0")
    // Python printed `1.5e+16` for a JSON `1.5e16`, `15000000000000000` for the JSON JavaScript writes.
    expect(Legacy.render("{x}", { x: 1.5e16 })).toBe("15000000000000000")
    // JSON.stringify writes 1e21 and up in exponent form, which Python decodes as a float.
    expect(Legacy.render("{x} {y}", { x: 1e21, y: 123456789012345680000 })).toBe("1e+21 123456789012345680000")
  })

  it("leaves out what JSON would leave out", () => {
    expect(Legacy.render("{a} {b}", { a: undefined, b: () => 1 })).toBe("{a} {b}")
    expect(Legacy.render("{x}", { x: [undefined, Number.NaN, Number.POSITIVE_INFINITY] })).toBe("[None, None, None]")
    expect(Legacy.render("{x}", { x: { a: undefined, b: 1 } })).toBe("{'b': 1}")
    expect(Legacy.render("{d} {l}", { d: new Date(0), l: [new Date(0)] })).toBe(
      "1970-01-01T00:00:00.000Z ['1970-01-01T00:00:00.000Z']"
    )
    expect(Legacy.render("{n}", { n: 12345678901234567890n })).toBe("12345678901234567890")
  })

  it("prints a container inside itself as Python does", () => {
    const list: Array<unknown> = [1]
    list.push(list)
    const dict: Record<string, unknown> = { a: 1 }
    dict.self = dict
    expect(Legacy.render("{l} {d}", { l: list, d: dict })).toBe("[1, [...]] {'a': 1, 'self': {...}}")
  })

  it("HTML-escapes values, not the template, when asked", () => {
    // `link` first: its `{name}` is then replaced too, escaped like any value.
    const variables = { link: "{name}'s", name: `<b>Tom & "Jerry"</b>` }
    expect(Legacy.render('<p class="x">{link} {name}</p>', variables, { escapeHtml: true })).toBe(
      '<p class="x">&lt;b&gt;Tom &amp; &#34;Jerry&#34;&lt;/b&gt;&#39;s &lt;b&gt;Tom &amp; &#34;Jerry&#34;&lt;/b&gt;</p>'
    )
    expect(Legacy.render("<p>{name}</p>", variables)).toBe(`<p><b>Tom & "Jerry"</b></p>`)
  })

  it("is the identity without variables, and replaces every placeholder it has a value for", () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/)
    const text = fc.string().map((s) => s.replace(/[{}]/g, ""))
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            text,
            name.map((n) => `{${n}}`)
          )
        ),
        fc.dictionary(name, text),
        (parts, vars) => {
          const template = parts.join("")
          expect(Legacy.render(template, {})).toBe(template)
          const rendered = Legacy.render(template, vars)
          for (const key of Object.keys(vars)) expect(rendered).not.toContain(`{${key}}`)
        }
      )
    )
  })
})

describe("Legacy.placeholders", () => {
  it("lists identifier placeholders once, in order, ignoring other braces", () => {
    expect(Legacy.placeholders("Hi {name}, {amount} {name} { x } {{y}} {1x} {a-b} p { color: red }")).toEqual([
      "name",
      "amount",
      "y"
    ])
    expect(Legacy.placeholders("no placeholders")).toEqual([])
  })
})

describe("Legacy.pythonStr", () => {
  it("is the identity on strings and Python's spelling of the rest", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(Legacy.pythonStr(s)).toBe(s)
      })
    )
    expect([true, false, null, 3, 0.5].map(Legacy.pythonStr)).toEqual(["True", "False", "None", "3", "0.5"])
  })
})
