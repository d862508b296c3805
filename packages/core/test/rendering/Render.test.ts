import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { missingVariables, type RenderableTemplate, renderMessage } from "../../src/rendering/index.js"

const email: RenderableTemplate = {
  type: "email",
  syntax: "liquid",
  subject: "Payment of {{ amount }} received",
  body: "Hello {{ name }}, we received {{ amount }}.",
  html_body: "<p>Hello {{ name }}, we received <b>{{ amount }}</b>.</p>"
}

describe("renderMessage", () => {
  it.effect("escapes the HTML part only", () =>
    Effect.gen(function* () {
      const rendered = yield* renderMessage(email, { name: "Tom & Jerry", amount: "<€12.50>" })
      expect(rendered).toEqual({
        subject: "Payment of <€12.50> received",
        text: "Hello Tom & Jerry, we received <€12.50>.",
        html: "<p>Hello Tom &amp; Jerry, we received <b>&lt;€12.50&gt;</b>.</p>"
      })
    })
  )

  it.effect("renders legacy templates the monolith's way", () =>
    Effect.gen(function* () {
      const legacy: RenderableTemplate = {
        type: "email",
        syntax: "legacy",
        subject: "Payment of {amount} received",
        body: "Hello {name}, {unknown} {amount}",
        html_body: "<p>{name}</p>"
      }
      expect(yield* renderMessage(legacy, { name: "<Ada>", amount: 12.5 })).toEqual({
        subject: "Payment of 12.5 received",
        text: "Hello <Ada>, {unknown} 12.5",
        html: "<p>&lt;Ada&gt;</p>"
      })
    })
  )

  it.effect("counts an SMS's segments", () =>
    Effect.gen(function* () {
      const sms: RenderableTemplate = {
        type: "sms",
        syntax: "liquid",
        subject: null,
        body: "Your code is {{ code }} €",
        html_body: null
      }
      expect(yield* renderMessage(sms, { code: 123456 })).toEqual({
        subject: null,
        text: "Your code is 123456 €",
        html: null,
        sms: { encoding: "GSM-7", segments: 1, characters: 22 }
      })
      const long = yield* renderMessage(sms, { code: "😀".repeat(40) })
      expect(long.sms).toEqual({ encoding: "UCS-2", segments: 2, characters: 95 })
    })
  )

  it.effect("has no SMS counts for push", () =>
    Effect.gen(function* () {
      const push: RenderableTemplate = {
        type: "push",
        syntax: "liquid",
        subject: "Hi",
        body: "{{ x }}",
        html_body: null
      }
      const rendered = yield* renderMessage(push, { x: 1 })
      expect(rendered).toEqual({ subject: "Hi", text: "1", html: null })
      expect("sms" in rendered).toBe(false)
    })
  )

  it.effect.each([
    ["subject", { ...email, subject: "{{ nope }}" }],
    ["body", { ...email, body: "{{ nope }}" }],
    ["html_body", { ...email, html_body: "<p>{{ nope }}</p>" }]
  ] as const)("says the %s failed, and which variable is missing", ([field, template]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(renderMessage(template, { name: "Ada", amount: "1" }))
      expect(error).toMatchObject({ _tag: "RenderError", field, missing: ["nope"], line: 1 })
    })
  )

  it.effect("reports a syntax error with its field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(renderMessage({ ...email, body: "{% if %}" }, { name: "Ada", amount: "1" }))
      expect(error.field).toBe("body")
      expect(error.missing).toBeUndefined()
    })
  )
})

describe("missingVariables", () => {
  it("lists the Liquid variables no value is given for, across every part", () => {
    expect(missingVariables(email, {})).toEqual(["amount", "name"])
    expect(missingVariables(email, { name: "Ada", amount: undefined })).toEqual(["amount"])
    expect(missingVariables(email, { name: "Ada", amount: 1 })).toEqual([])
  })

  it("lists the legacy placeholders no value is given for", () => {
    const legacy: RenderableTemplate = {
      type: "sms",
      syntax: "legacy",
      subject: null,
      body: "{a} {b} {a} {constructor}",
      html_body: null
    }
    expect(missingVariables(legacy, { b: null })).toEqual(["a", "constructor"])
  })
})
