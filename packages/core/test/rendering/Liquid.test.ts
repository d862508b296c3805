import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Liquid } from "../../src/rendering/index.js"

const text = { escapeHtml: false }
const html = { escapeHtml: true }

describe("Liquid.render", () => {
  it.effect("renders variables, filters and tags", () =>
    Effect.gen(function* () {
      const source =
        "Hello {{ name | capitalize }}, {{ items | size }} items:{% for item in items %} {{ item.sku }}×{{ item.qty }}{% endfor %}."
      const variables = {
        name: "ada",
        items: [
          { sku: "A1", qty: 2 },
          { sku: "B2", qty: 1 }
        ]
      }
      expect(yield* Liquid.render(source, variables, text)).toBe("Hello Ada, 2 items: A1×2 B2×1.")
    })
  )

  it.effect("fails on an undefined variable, naming it and where it is used", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Liquid.render("Hello\n  {{ nme }}", { name: "Ada" }, text))
      expect(error).toMatchObject({ _tag: "RenderError", missing: ["nme"], line: 2, column: 6 })
      expect(error.message).toBe("undefined variable: nme, line:2, col:6")
      const property = yield* Effect.flip(Liquid.render("{{ order.total }}", { order: {} }, text))
      expect(property.missing).toEqual(["order.total"])
    })
  )

  it.effect("lets `if` and `default` handle an optional variable", () =>
    Effect.gen(function* () {
      const source = "{% if coupon %}Use {{ coupon }}. {% endif %}Ship to {{ city | default: 'your address' }}."
      expect(yield* Liquid.render(source, {}, text)).toBe("Ship to your address.")
      expect(yield* Liquid.render(source, { coupon: "X1", city: "Leeds" }, text)).toBe("Use X1. Ship to Leeds.")
    })
  )

  it.effect("does not reach into prototypes", () =>
    Effect.gen(function* () {
      for (const source of [
        "{{ name.constructor }}",
        "{{ o.toString }}",
        "{{ o.__proto__ }}",
        "{{ o.hasOwnProperty }}"
      ]) {
        const error = yield* Effect.flip(Liquid.render(source, { name: "Ada", o: {} }, text))
        expect(error.message).toMatch(/^undefined variable/)
      }
    })
  )

  it.effect("does not change the caller's variables", () =>
    Effect.gen(function* () {
      const variables = { n: 5 }
      expect(yield* Liquid.render("{% increment n %}{% increment n %}{{ n }}", variables, text)).toBe("567")
      expect(variables).toEqual({ n: 5 })
    })
  )

  it.effect("formats dates in UTC, whatever the host's zone", () =>
    Effect.gen(function* () {
      expect(yield* Liquid.render("{{ at | date: '%Y-%m-%d %H:%M' }}", { at: "2026-03-29T23:30:00Z" }, text)).toBe(
        "2026-03-29 23:30"
      )
    })
  )

  it.effect("stops a template that allocates or renders too much", () =>
    Effect.gen(function* () {
      const huge = yield* Effect.flip(Liquid.render("{% for i in (1..100000000) %}{{ i }}{% endfor %}", {}, text))
      expect(huge.message).toMatch(/limit exceeded/)
      const nested = "{% for a in (1..1000) %}{% for b in (1..1000) %}{{ b }}{% endfor %}{% endfor %}"
      const long = yield* Effect.flip(Liquid.render(nested, {}, text))
      expect(long.message).toMatch(/limit exceeded/)
    })
  )

  it.effect("leaves text unescaped", () =>
    Effect.gen(function* () {
      expect(yield* Liquid.render("<{{ name }}>", { name: "Tom & <Jerry>" }, text)).toBe("<Tom & <Jerry>>")
    })
  )

  it.effect("reuses a parsed template with other variables", () =>
    Effect.gen(function* () {
      const source = "Hi {{ name }}"
      expect(yield* Liquid.render(source, { name: "Ada" }, text)).toBe("Hi Ada")
      expect(yield* Liquid.render(source, { name: "Bob" }, text)).toBe("Hi Bob")
      // More templates than the cache holds: evicted ones parse again.
      for (let i = 0; i < 600; i++) expect(yield* Liquid.render(`{{ n }}-${i}`, { n: i }, text)).toBe(`${i}-${i}`)
      expect(yield* Liquid.render(source, { name: "Cy" }, text)).toBe("Hi Cy")
    })
  )
})

describe("Liquid.render into HTML", () => {
  it.effect("escapes every variable but keeps the template's markup", () =>
    Effect.gen(function* () {
      const source = `<p title="{{ name }}">Hi <b>{{ name }}</b>{% for x in xs %}<i>{{ x }}</i>{% endfor %}</p>`
      const variables = { name: `Tom & "Jerry" <script>`, xs: ["<a>", "'"] }
      expect(yield* Liquid.render(source, variables, html)).toBe(
        '<p title="Tom &amp; &#34;Jerry&#34; &lt;script&gt;">Hi <b>Tom &amp; &#34;Jerry&#34; &lt;script&gt;</b><i>&lt;a&gt;</i><i>&#39;</i></p>'
      )
    })
  )

  it.effect("has no raw filter", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Liquid.render("{{ name | raw }}", { name: "<b>" }, html))
      expect(error.message).toBe("undefined filter: raw, line:1, col:1")
    })
  )

  it.effect("escapes once when the template escapes too", () =>
    Effect.gen(function* () {
      const variables = { name: "Tom & Jerry" }
      expect(yield* Liquid.render("{{ name | escape }}|{{ name | escape_once }}", variables, html)).toBe(
        "Tom &amp; Jerry|Tom &amp; Jerry"
      )
      expect(yield* Liquid.render("{% echo name %}|{% cycle name %}", variables, html)).toBe(
        "Tom &amp; Jerry|Tom &amp; Jerry"
      )
    })
  )

  it.effect("outputs a capture as the markup it captured", () =>
    Effect.gen(function* () {
      const source = "{% capture greeting %}<b>Hi {{ name }}</b>{% endcapture %}{{ greeting }} ({{ greeting.size }})"
      expect(yield* Liquid.render(source, { name: "Tom & Jerry" }, html)).toBe("<b>Hi Tom &amp; Jerry</b> (25)")
      // A variable is escaped even when it looks like a capture.
      const lookalike = "{% capture c %}<b>x</b>{% endcapture %}{{ c }}{{ v }}"
      expect(yield* Liquid.render(lookalike, { v: "<b>x</b>" }, html)).toBe("<b>x</b>&lt;b&gt;x&lt;/b&gt;")
    })
  )
})

describe("Liquid.validate", () => {
  it("accepts valid Liquid", () => {
    expect(Liquid.validate("Hi {{ name | upcase }}{% if x %}!{% endif %}")).toEqual(Either.void)
  })

  it.each([
    ["Hi\n {% if x %}", "tag {% if x %} not closed, line:2, col:2"],
    ["Hi {{ name", 'output "{{ name" not closed, line:1, col:4'],
    ["{{ x | bogus }}", "undefined filter: bogus, line:1, col:1"],
    ["{% frobnicate %}", 'tag "frobnicate" not found, line:1, col:1'],
    ["{% include 'header' %}", "{% include %} is not available: a template cannot load other templates, line:1, col:1"],
    ["a\n{% render 'x' %}", "{% render %} is not available: a template cannot load other templates, line:2, col:1"],
    ["{% layout 'base' %}", "{% layout %} is not available: a template cannot load other templates, line:1, col:1"]
  ])("rejects %j: %s", (source, message) => {
    expect(Liquid.validate(source)).toEqual(Either.left(message))
  })

  it("rejects a template over the parse limit", () => {
    expect(Either.isLeft(Liquid.validate("x".repeat(1_000_001)))).toBe(true)
  })
})

describe("Liquid.referencedVariables", () => {
  it("lists the top-level variables a template reads, not the ones it assigns", () => {
    const source =
      "{{ order.total }}{% assign c = 1 %}{{ c }}{% for i in items %}{{ i.sku }}{{ d }}{% endfor %}{% capture z %}{{ e }}{% endcapture %}{{ z }}{% if f %}{% endif %}"
    expect(Liquid.referencedVariables(source)).toEqual(["order", "items", "d", "e", "f"])
  })

  it("is empty for a template that does not parse", () => {
    expect(Liquid.referencedVariables("{% if")).toEqual([])
  })
})
