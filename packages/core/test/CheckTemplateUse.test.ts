import { describe, expect, it } from "@effect/vitest"
import { checkTemplateUse } from "@notification-service/core"
import {
  type Channel,
  SendNotification,
  Template,
  TemplateId,
  type TemplateVariable
} from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"

const makeTemplate = (type: Channel, variables: ReadonlyArray<TemplateVariable>, name = "payment_received"): Template =>
  new Template({
    id: TemplateId.make("0192f1c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f"),
    name,
    type,
    subject: type === "email" ? "Payment of {amount} received" : null,
    body: "Hello {name}, we received {amount}.",
    html_body: null,
    syntax: "legacy",
    variables,
    version: 1,
    created_at: DateTime.unsafeMake(0),
    updated_at: DateTime.unsafeMake(0)
  })

const payment = makeTemplate("email", [
  { name: "name", required: true },
  { name: "amount", required: true },
  { name: "note", required: false, description: "optional free text" }
])

const channels: ReadonlyArray<Channel> = ["email", "sms", "push"]

describe("checkTemplateUse", () => {
  it("accepts a request that names every required variable and no channel", () => {
    expect(checkTemplateUse(payment, { variables: { name: "Ada", amount: "€12.50" } })).toEqual([])
  })

  it("accepts the template's own channel", () => {
    expect(checkTemplateUse(payment, { channel: "email", variables: { name: "Ada", amount: "1" } })).toEqual([])
  })

  it.each([
    ["email", "sms"],
    ["email", "push"],
    ["sms", "email"],
    ["sms", "push"],
    ["push", "email"],
    ["push", "sms"]
  ] as const)("refuses a %s template sent as %s, explaining why", (type, channel) => {
    const template = makeTemplate(type, [], "otp")
    expect(checkTemplateUse(template, { channel })).toEqual([
      { path: "channel", message: `template 'otp' is for ${type} and cannot be sent as ${channel}` }
    ])
  })

  it("lists every missing required variable as variables.<name>, in template order", () => {
    expect(checkTemplateUse(payment, {})).toEqual([
      { path: "variables.name", message: "required by template 'payment_received'" },
      { path: "variables.amount", message: "required by template 'payment_received'" }
    ])
    expect(checkTemplateUse(payment, { variables: { name: "Ada" } })).toEqual([
      { path: "variables.amount", message: "required by template 'payment_received'" }
    ])
  })

  it("does not require optional variables", () => {
    const problems = checkTemplateUse(payment, { variables: { name: "Ada", amount: "1" } })
    expect(problems.map((p) => p.path)).not.toContain("variables.note")
    const onlyOptional = makeTemplate("sms", [{ name: "note", required: false }])
    expect(checkTemplateUse(onlyOptional, {})).toEqual([])
    expect(checkTemplateUse(onlyOptional, { variables: {} })).toEqual([])
  })

  it("counts null as missing, but not other falsy values", () => {
    expect(checkTemplateUse(payment, { variables: { name: null, amount: "1" } })).toEqual([
      { path: "variables.name", message: "required by template 'payment_received'" }
    ])
    expect(checkTemplateUse(payment, { variables: { name: "", amount: 0 } })).toEqual([])
    expect(checkTemplateUse(payment, { variables: { name: false, amount: [] } })).toEqual([])
  })

  it("reports a channel mismatch and missing variables together, channel first", () => {
    expect(checkTemplateUse(payment, { channel: "sms", variables: { amount: "1" } })).toEqual([
      {
        path: "channel",
        message: "template 'payment_received' is for email and cannot be sent as sms"
      },
      { path: "variables.name", message: "required by template 'payment_received'" }
    ])
  })

  it("extra variables the template does not declare are ignored", () => {
    expect(checkTemplateUse(payment, { variables: { name: "a", amount: "b", unexpected: "c" } })).toEqual([])
  })

  it("property: problems are exactly the channel mismatch plus the required variables absent or null", () => {
    const nameArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/).filter((n) => !(n in Object.prototype))
    const arb = fc
      .record({
        type: fc.constantFrom(...channels),
        variables: fc.uniqueArray(fc.record({ name: nameArb, required: fc.boolean() }), {
          selector: (v) => v.name,
          maxLength: 8
        }),
        channel: fc.option(fc.constantFrom(...channels), { nil: undefined })
      })
      .chain(({ type, variables, channel }) =>
        fc
          .tuple(fc.subarray(variables.map((v) => v.name)), fc.subarray(variables.map((v) => v.name)), fc.boolean())
          .map(([given, nulled, omitVariables]) => ({ type, variables, channel, given, nulled, omitVariables }))
      )
    fc.assert(
      fc.property(arb, ({ type, variables, channel, given, nulled, omitVariables }) => {
        const template = makeTemplate(type, variables, "t")
        const values: Record<string, unknown> = {}
        for (const name of given) values[name] = nulled.includes(name) ? null : `value of ${name}`
        const request = {
          ...(channel === undefined ? {} : { channel }),
          ...(omitVariables ? {} : { variables: values })
        }
        const problems = checkTemplateUse(template, request)

        const expected: Array<{ path: string; message: string }> = []
        if (channel !== undefined && channel !== type) {
          expected.push({
            path: "channel",
            message: `template 't' is for ${type} and cannot be sent as ${channel}`
          })
        }
        for (const variable of variables) {
          const present = !omitVariables && given.includes(variable.name) && !nulled.includes(variable.name)
          if (variable.required && !present) {
            expected.push({ path: `variables.${variable.name}`, message: "required by template 't'" })
          }
        }
        expect(problems).toEqual(expected)
      })
    )
  })

  it("works on a request decoded from JSON by SendNotification", () => {
    const request = Schema.decodeUnknownSync(SendNotification)(
      JSON.parse('{"user_id": 7, "template_name": "payment_received", "channel": "push", "variables": {"name": null}}')
    )
    expect(checkTemplateUse(payment, request).map((p) => p.path)).toEqual([
      "channel",
      "variables.name",
      "variables.amount"
    ])
  })

  // Regression: inherited Object.prototype members used to satisfy required variables.
  it.each(["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"])(
    "reports a missing required variable named %s",
    (name) => {
      const template = makeTemplate("sms", [{ name, required: true }], "t")
      const request = Schema.decodeUnknownSync(SendNotification)({ user_id: 1, template_name: "t", variables: {} })
      expect(checkTemplateUse(template, request)).toEqual([
        { path: `variables.${name}`, message: "required by template 't'" }
      ])
    }
  )
})
