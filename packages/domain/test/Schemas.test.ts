import { describe, expect, it } from "@effect/vitest"
import {
  Cursor,
  canonicalTimeZone,
  Email,
  Limit,
  ListNotificationsParams,
  ListTemplatesParams,
  Metadata,
  Notification,
  NotificationStatus,
  Page,
  PhoneE164,
  PreferenceInput,
  preferenceFields,
  Recipient,
  SendNotification,
  Template,
  TemplateInput,
  TemplateName,
  TimeZone,
  templateFields,
  UpdateStatus,
  UserId,
  UserIdFromString,
  Variables
} from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"

// ---------------------------------------------------------------------------------------------
// Helpers and arbitraries
// ---------------------------------------------------------------------------------------------

const accepts =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (input: unknown): boolean =>
    Either.isRight(Schema.decodeUnknownEither(schema)(input))

/** The message of a failed decode, for asserting on which rule rejected it. */
const failure =
  <A, I>(schema: Schema.Schema<A, I>) =>
  (input: unknown): string => {
    const result = Schema.decodeUnknownEither(schema)(input)
    if (Either.isRight(result)) throw new Error(`expected ${JSON.stringify(input)} to be rejected`)
    return result.left.message
  }

const jsonBytes = (value: unknown): number => new TextEncoder().encode(JSON.stringify(value)).length

const chars = (s: string): ReadonlyArray<string> => [...s]
const upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
const lower = "abcdefghijklmnopqrstuvwxyz"
const digits = "0123456789"
const digitArb = fc.constantFrom(...chars(digits))

const userIdArb = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })

const badUserIdArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -1_000_000_000, max: 0 }),
  fc.constantFrom(0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 1, 2 ** 60),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Number.isInteger(n)),
  fc.integer({ min: 1, max: 1000 }).map(String),
  fc.constantFrom(null, true, {}, [])
)

const uuidArb = fc.uuid()

const templateNameArb = fc
  .tuple(
    fc.constantFrom(...chars(upper + lower + digits)),
    fc.array(fc.constantFrom(...chars(`${upper}${lower}${digits}_.:-`)), {
      maxLength: 99
    })
  )
  .map(([first, rest]) => first + rest.join(""))

const variableNameArb = fc
  .tuple(
    fc.constantFrom(...chars(`${upper}${lower}_`)),
    fc.array(fc.constantFrom(...chars(`${upper}${lower}${digits}_`)), {
      maxLength: 63
    })
  )
  .map(([first, rest]) => first + rest.join(""))

const phoneArb = fc
  .tuple(fc.integer({ min: 1, max: 9 }), fc.array(digitArb, { minLength: 6, maxLength: 14 }))
  .map(([first, rest]) => `+${first}${rest.join("")}`)

const isoArb = fc
  .integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) })
  .map((ms) => new Date(ms).toISOString())

const localTimeArb = fc
  .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
  .map(([h, m]) => `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`)

const templateRefArb: fc.Arbitrary<{ template_id: string } | { template_name: string }> = fc.oneof(
  uuidArb.map((template_id) => ({ template_id })),
  templateNameArb.map((template_name) => ({ template_name }))
)

/** Optional SendNotification fields, each valid. */
const sendExtrasArb = fc.record(
  {
    channel: fc.constantFrom("email", "sms", "push"),
    priority: fc.constantFrom("high", "normal", "low"),
    variables: fc.dictionary(variableNameArb, fc.string({ maxLength: 20 }), {
      maxKeys: 5,
      noNullPrototype: true
    }),
    // `__proto__` keys are refused at the HTTP edge (a decoded object cannot hold them as data).
    metadata: fc.dictionary(
      fc.string({ maxLength: 10 }).filter((key) => key !== "__proto__"),
      fc.integer(),
      {
        maxKeys: 5,
        noNullPrototype: true
      }
    ),
    recipient: fc.oneof(
      fc.record({ email: fc.constant("ada@example.com") }),
      fc.record({ phone: phoneArb }),
      fc.record({ device_token: fc.string({ minLength: 1, maxLength: 50 }) })
    ),
    scheduled_at: isoArb
  },
  { requiredKeys: [] }
)

const validSendArb = fc
  .tuple(userIdArb, templateRefArb, sendExtrasArb)
  .map(([user_id, ref, extras]) => ({ user_id, ...ref, ...extras }))

// ---------------------------------------------------------------------------------------------

describe("UserId / UserIdFromString", () => {
  it("accepts every positive safe integer", () => {
    fc.assert(
      fc.property(userIdArb, (n) => {
        expect(Schema.decodeUnknownSync(UserId)(n)).toBe(n)
      })
    )
  })

  it("rejects non-positive, non-integer, unsafe and non-number ids", () => {
    fc.assert(
      fc.property(badUserIdArb, (n) => {
        expect(accepts(UserId)(n)).toBe(false)
      })
    )
  })

  it("UserIdFromString decodes the decimal form of any positive id and encodes it back", () => {
    fc.assert(
      fc.property(userIdArb, (n) => {
        const decoded = Schema.decodeUnknownSync(UserIdFromString)(String(n))
        expect(decoded).toBe(n)
        expect(Schema.encodeSync(UserIdFromString)(decoded)).toBe(String(n))
      })
    )
  })

  it.each(["0", "-1", "1.5", "abc", "", "NaN", "Infinity", "9007199254740993"])(
    "UserIdFromString rejects %j",
    (input) => {
      expect(accepts(UserIdFromString)(input)).toBe(false)
    }
  )

  it("UserIdFromString refuses numbers (path params arrive as strings)", () => {
    expect(accepts(UserIdFromString)(42)).toBe(false)
  })
})

describe("Email", () => {
  it.each(["ada@example.com", "a.b+tag@sub.example.co.uk", "x@y.z"])("accepts %s", (email) => {
    expect(accepts(Email)(email)).toBe(true)
  })

  it.each([
    "",
    "ada",
    "ada@example",
    "@example.com",
    "ada@@example.com",
    "ada lovelace@example.com",
    "ada@exa mple.com"
  ])("rejects %j", (email) => {
    expect(failure(Email)(email)).toMatch(/email address|@/)
  })

  it("caps the length at 254 characters", () => {
    const at = (length: number) => `${"a".repeat(length - "@example.com".length)}@example.com`
    expect(at(254)).toHaveLength(254)
    expect(accepts(Email)(at(254))).toBe(true)
    expect(accepts(Email)(at(255))).toBe(false)
  })
})

describe("PhoneE164", () => {
  const e164 = /^\+[1-9]\d{6,14}$/

  it("accepts every +[1-9] followed by 6..14 digits", () => {
    fc.assert(
      fc.property(phoneArb, (phone) => {
        expect(accepts(PhoneE164)(phone)).toBe(true)
      })
    )
  })

  it("rejects near misses of valid numbers", () => {
    const mutated = fc.oneof(
      phoneArb.map((p) => p.slice(1)), // no '+'
      phoneArb.map((p) => `+0${p.slice(2)}`), // leading zero
      phoneArb.map((p) => `${p} `), // trailing space
      phoneArb.map((p) => ` ${p}`), // leading space
      phoneArb.map((p) => `${p.slice(0, 4)}-${p.slice(4)}`), // separator
      phoneArb.map((p) => `${p}x`), // letter
      phoneArb.map((p) => `${p}\n`), // newline ($ must not match before it)
      fc.array(digitArb, { minLength: 5, maxLength: 5 }).map((d) => `+1${d.join("")}`), // 6 digits in all
      fc.array(digitArb, { minLength: 15, maxLength: 20 }).map((d) => `+1${d.join("")}`) // 16+ digits
    )
    fc.assert(
      fc.property(mutated, (phone) => {
        expect(accepts(PhoneE164)(phone)).toBe(false)
      })
    )
  })

  it("rejects arbitrary strings that are not E.164", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 20 }).filter((s) => !e164.test(s)),
        (s) => {
          expect(accepts(PhoneE164)(s)).toBe(false)
        }
      )
    )
  })

  it("boundaries: 7 and 15 digits accepted, 6 and 16 rejected, non-ASCII digits rejected", () => {
    expect(accepts(PhoneE164)("+1234567")).toBe(true)
    expect(accepts(PhoneE164)("+123456789012345")).toBe(true)
    expect(accepts(PhoneE164)("+123456")).toBe(false)
    expect(accepts(PhoneE164)("+1234567890123456")).toBe(false)
    expect(accepts(PhoneE164)("+١٢٣٤٥٦٧٨")).toBe(false)
    expect(failure(PhoneE164)("07700900123")).toContain("E.164")
  })
})

describe("Recipient", () => {
  it("needs at least one of email, phone, device_token", () => {
    expect(failure(Recipient)({})).toContain("must name at least one of email, phone, device_token")
    expect(accepts(Recipient)({ email: "ada@example.com" })).toBe(true)
    expect(accepts(Recipient)({ phone: "+447700900123" })).toBe(true)
    expect(accepts(Recipient)({ device_token: "tok" })).toBe(true)
    expect(
      accepts(Recipient)({
        email: "ada@example.com",
        phone: "+447700900123",
        device_token: "t"
      })
    ).toBe(true)
  })

  it("validates each field it is given", () => {
    expect(accepts(Recipient)({ email: "nope" })).toBe(false)
    expect(accepts(Recipient)({ phone: "12345" })).toBe(false)
    expect(accepts(Recipient)({ device_token: "" })).toBe(false)
    expect(accepts(Recipient)({ device_token: "x".repeat(4097) })).toBe(false)
    expect(accepts(Recipient)({ device_token: "x".repeat(4096) })).toBe(true)
    expect(accepts(Recipient)({ email: "ada@example.com", phone: "bad" })).toBe(false)
  })
})

describe("Metadata and Variables size caps", () => {
  it("Metadata: exactly 8192 bytes of JSON is accepted, 8193 rejected", () => {
    const ofSize = (bytes: number) => ({
      k: "x".repeat(bytes - jsonBytes({ k: "" }))
    })
    expect(jsonBytes(ofSize(8192))).toBe(8192)
    expect(accepts(Metadata)(ofSize(8192))).toBe(true)
    expect(failure(Metadata)(ofSize(8193))).toContain("must be at most 8192 bytes as JSON")
  })

  it("Metadata counts UTF-8 bytes, not characters", () => {
    // "€" is 3 bytes: 2730 of them are 8190 bytes + 8 of JSON framing = 8198 bytes in 2738 characters.
    const euros = { k: "€".repeat(2730) }
    expect(JSON.stringify(euros).length).toBeLessThan(8192)
    expect(jsonBytes(euros)).toBeGreaterThan(8192)
    expect(accepts(Metadata)(euros)).toBe(false)
  })

  it("Metadata: any object is accepted iff its JSON is at most 8192 bytes (around the boundary)", () => {
    const arb = fc
      .tuple(
        fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
          maxKeys: 5,
          noNullPrototype: true
        }),
        fc.constantFrom("a", "é", "€", "😀"),
        fc.integer({ min: -40, max: 40 })
      )
      .map(([base, padChar, delta]) => {
        const withoutPad = { ...base, pad: "" }
        const room = 8192 - jsonBytes(withoutPad) + delta
        const count = Math.max(0, Math.floor(room / new TextEncoder().encode(padChar).length))
        return { ...base, pad: padChar.repeat(count) }
      })
    fc.assert(
      fc.property(arb, (metadata) => {
        expect(accepts(Metadata)(metadata)).toBe(jsonBytes(metadata) <= 8192)
      }),
      { numRuns: 200 }
    )
  })

  it("Metadata must be a JSON object", () => {
    expect(accepts(Metadata)({})).toBe(true)
    expect(accepts(Metadata)([])).toBe(false)
    expect(accepts(Metadata)("x")).toBe(false)
    expect(accepts(Metadata)(null)).toBe(false)
  })

  it("Variables: 32768 bytes accepted, 32769 rejected", () => {
    const ofSize = (bytes: number) => ({
      k: "x".repeat(bytes - jsonBytes({ k: "" }))
    })
    expect(accepts(Variables)(ofSize(32_768))).toBe(true)
    expect(failure(Variables)(ofSize(32_769))).toContain("must be at most 32768 bytes as JSON")
    // Variables may be larger than the metadata cap.
    expect(accepts(Variables)(ofSize(8193))).toBe(true)
  })
})

describe("SendNotification", () => {
  it("decodes any valid request naming exactly one template", () => {
    fc.assert(
      fc.property(validSendArb, (body) => {
        const decoded = Schema.decodeUnknownEither(SendNotification)(body)
        expect(Either.isRight(decoded)).toBe(true)
        if (Either.isRight(decoded)) expect(decoded.right.user_id).toBe(body.user_id)
      }),
      { numRuns: 200 }
    )
  })

  it("encode(decode(x)) gives x back", () => {
    fc.assert(
      fc.property(validSendArb, (body) => {
        const decoded = Schema.decodeUnknownSync(SendNotification)(body)
        expect(Schema.encodeSync(SendNotification)(decoded)).toEqual(body)
      }),
      { numRuns: 200 }
    )
  })

  it("rejects both template_id and template_name", () => {
    fc.assert(
      fc.property(userIdArb, uuidArb, templateNameArb, sendExtrasArb, (user_id, template_id, template_name, extras) => {
        const message = failure(SendNotification)({
          user_id,
          template_id,
          template_name,
          ...extras
        })
        expect(message).toContain("exactly one of template_id and template_name is required")
      })
    )
  })

  it("rejects neither template_id nor template_name", () => {
    fc.assert(
      fc.property(userIdArb, sendExtrasArb, (user_id, extras) => {
        const message = failure(SendNotification)({ user_id, ...extras })
        expect(message).toContain("exactly one of template_id and template_name is required")
      })
    )
  })

  it("rejects any non-positive, non-integer or non-number user_id", () => {
    fc.assert(
      fc.property(badUserIdArb, templateRefArb, (user_id, ref) => {
        expect(accepts(SendNotification)({ user_id, ...ref })).toBe(false)
      })
    )
  })

  it("rejects a missing user_id", () => {
    expect(accepts(SendNotification)({ template_name: "welcome" })).toBe(false)
  })

  it.each([
    ["template_id not a uuid", { template_id: "not-a-uuid" }],
    ["template_name starting with '_'", { template_name: "_welcome" }],
    ["template_name with a space", { template_name: "wel come" }],
    ["template_name of 101 characters", { template_name: "a".repeat(101) }],
    ["unknown channel", { template_name: "t", channel: "fax" }],
    ["unknown priority", { template_name: "t", priority: "urgent" }],
    ["scheduled_at not a date", { template_name: "t", scheduled_at: "tomorrow" }],
    ["empty recipient", { template_name: "t", recipient: {} }],
    ["recipient with a bad phone", { template_name: "t", recipient: { phone: "0123" } }],
    ["variables not an object", { template_name: "t", variables: ["a"] }],
    ["metadata over 8192 bytes", { template_name: "t", metadata: { k: "x".repeat(8200) } }]
  ])("rejects %s", (_label, fields) => {
    expect(accepts(SendNotification)({ user_id: 1, ...fields })).toBe(false)
  })

  it("decodes scheduled_at into a UTC DateTime", () => {
    const decoded = Schema.decodeUnknownSync(SendNotification)({
      user_id: 1,
      template_name: "t",
      scheduled_at: "2030-01-02T03:04:05.000Z"
    })
    expect(decoded.scheduled_at && DateTime.isDateTime(decoded.scheduled_at)).toBe(true)
    expect(decoded.scheduled_at?.epochMillis).toBe(Date.UTC(2030, 0, 2, 3, 4, 5))
  })
})

describe("TemplateName", () => {
  it("accepts every name matching ^[A-Za-z0-9][A-Za-z0-9_.:-]*$ of at most 100 characters", () => {
    fc.assert(
      fc.property(templateNameArb, (name) => {
        expect(accepts(TemplateName)(name)).toBe(true)
      })
    )
  })

  it("rejects names that do not start with a letter or digit, contain other characters, or are too long", () => {
    const bad = fc.oneof(
      fc.tuple(fc.constantFrom("_", ".", ":", "-", " "), templateNameArb).map(([c, n]) => c + n),
      fc.tuple(templateNameArb, fc.constantFrom(" ", "/", "é", "\t", "$", "{")).map(([n, c]) => n + c),
      fc.constant(""),
      fc.constant("a".repeat(101))
    )
    fc.assert(
      fc.property(bad, (name) => {
        expect(accepts(TemplateName)(name)).toBe(false)
      })
    )
  })

  it("boundary: 100 characters accepted", () => {
    expect(accepts(TemplateName)("a".repeat(100))).toBe(true)
  })
})

describe("TemplateInput and templateFields", () => {
  const smsInput = { name: "otp", type: "sms", body: "Your code is {code}" }

  it("only email templates have an HTML body; syntax is liquid or legacy", () => {
    expect(failure(TemplateInput)({ ...smsInput, html_body: "<p>x</p>" })).toContain(
      "only email templates have an HTML body"
    )
    expect(accepts(TemplateInput)({ ...smsInput, html_body: null })).toBe(true)
    expect(accepts(TemplateInput)({ name: "a", type: "email", subject: "s", body: "b", html_body: "<p>b</p>" })).toBe(
      true
    )
    expect(accepts(TemplateInput)({ ...smsInput, syntax: "legacy" })).toBe(true)
    expect(accepts(TemplateInput)({ ...smsInput, syntax: "jinja" })).toBe(false)
  })

  it("an email template needs a subject; sms and push do not", () => {
    expect(failure(TemplateInput)({ name: "a", type: "email", body: "b" })).toContain(
      "subject is required for email templates"
    )
    expect(
      accepts(TemplateInput)({
        name: "a",
        type: "email",
        body: "b",
        subject: null
      })
    ).toBe(false)
    expect(
      accepts(TemplateInput)({
        name: "a",
        type: "email",
        body: "b",
        subject: "s"
      })
    ).toBe(true)
    expect(accepts(TemplateInput)(smsInput)).toBe(true)
    expect(accepts(TemplateInput)({ ...smsInput, type: "push", subject: null })).toBe(true)
  })

  it("rejects an empty body or subject and an unknown type", () => {
    expect(accepts(TemplateInput)({ ...smsInput, body: "" })).toBe(false)
    expect(accepts(TemplateInput)({ ...smsInput, subject: "" })).toBe(false)
    expect(accepts(TemplateInput)({ ...smsInput, type: "fax" })).toBe(false)
    expect(accepts(TemplateInput)({ ...smsInput, subject: "s".repeat(999) })).toBe(false)
    expect(accepts(TemplateInput)({ ...smsInput, subject: "s".repeat(998) })).toBe(true)
  })

  it("accepts any list of distinct variable names", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ name: variableNameArb, required: fc.boolean() }, { requiredKeys: ["name"] }), {
          selector: (v) => v.name,
          maxLength: 20
        }),
        (variables) => {
          expect(accepts(TemplateInput)({ ...smsInput, variables })).toBe(true)
        }
      )
    )
  })

  it("rejects any list with a repeated variable name, naming the duplicate", () => {
    const withDuplicate = fc
      .tuple(fc.uniqueArray(variableNameArb, { minLength: 1, maxLength: 10 }), fc.nat(), fc.nat())
      .map(([names, pick, at]) => {
        const duplicate = names[pick % names.length] ?? "x"
        const list = [...names]
        list.splice(at % (list.length + 1), 0, duplicate)
        return { duplicate, variables: list.map((name) => ({ name })) }
      })
    fc.assert(
      fc.property(withDuplicate, ({ duplicate, variables }) => {
        expect(failure(TemplateInput)({ ...smsInput, variables })).toContain(`duplicate variable name '${duplicate}'`)
      })
    )
  })

  it("rejects invalid variable names and more than 100 variables", () => {
    expect(accepts(TemplateInput)({ ...smsInput, variables: [{ name: "1abc" }] })).toBe(false)
    expect(accepts(TemplateInput)({ ...smsInput, variables: [{ name: "a-b" }] })).toBe(false)
    expect(
      accepts(TemplateInput)({
        ...smsInput,
        variables: [{ name: "a".repeat(65) }]
      })
    ).toBe(false)
    expect(
      accepts(TemplateInput)({
        ...smsInput,
        variables: [{ name: "a".repeat(64) }]
      })
    ).toBe(true)
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `v${i}` }))
    expect(accepts(TemplateInput)({ ...smsInput, variables: many(100) })).toBe(true)
    expect(accepts(TemplateInput)({ ...smsInput, variables: many(101) })).toBe(false)
  })

  it("encode(decode(x)) gives x back", () => {
    const inputArb = fc.record(
      {
        name: templateNameArb,
        type: fc.constant("email"),
        subject: fc.string({ minLength: 1, maxLength: 50 }),
        body: fc.string({ minLength: 1, maxLength: 200 }),
        variables: fc.uniqueArray(
          fc.record(
            {
              name: variableNameArb,
              required: fc.boolean(),
              description: fc.string({ maxLength: 30 })
            },
            { requiredKeys: ["name"] }
          ),
          { selector: (v) => v.name, maxLength: 5 }
        )
      },
      { requiredKeys: ["name", "type", "subject", "body"] }
    )
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(Schema.encodeSync(TemplateInput)(Schema.decodeUnknownSync(TemplateInput)(input))).toEqual(input)
      })
    )
  })

  it("templateFields applies the defaults: subject null, no variables, required true", () => {
    const decoded = Schema.decodeUnknownSync(TemplateInput)({
      ...smsInput,
      variables: [{ name: "code" }, { name: "note", required: false, description: "free text" }]
    })
    expect(templateFields(decoded)).toStrictEqual({
      name: "otp",
      type: "sms",
      subject: null,
      body: "Your code is {code}",
      html_body: null,
      syntax: "liquid",
      variables: [
        { name: "code", required: true },
        { name: "note", required: false, description: "free text" }
      ]
    })
    expect(templateFields(Schema.decodeUnknownSync(TemplateInput)(smsInput)).variables).toEqual([])
  })

  it("templateFields keeps names and order, defaults required to true and never adds an undefined description", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record(
            {
              name: variableNameArb,
              required: fc.boolean(),
              description: fc.string({ maxLength: 10 })
            },
            { requiredKeys: ["name"] }
          ),
          { selector: (v) => v.name, maxLength: 10 }
        ),
        (variables) => {
          const fields = templateFields(Schema.decodeUnknownSync(TemplateInput)({ ...smsInput, variables }))
          expect(fields.variables.map((v) => v.name)).toEqual(variables.map((v) => v.name))
          fields.variables.forEach((v, i) => {
            const given = variables[i]
            expect(v.required).toBe(given?.required ?? true)
            expect("description" in v).toBe(given?.description !== undefined)
          })
        }
      )
    )
  })
})

describe("Template and Notification wire round trips", () => {
  const templateJsonArb = fc.record({
    id: uuidArb,
    name: templateNameArb,
    type: fc.constantFrom("email", "sms", "push"),
    subject: fc.option(fc.string({ maxLength: 30 }), { nil: null }),
    body: fc.string({ maxLength: 100 }),
    html_body: fc.option(fc.string({ maxLength: 100 }), { nil: null }),
    syntax: fc.constantFrom("liquid", "legacy"),
    variables: fc.array(
      fc.record(
        {
          name: variableNameArb,
          required: fc.boolean(),
          description: fc.string({ maxLength: 20 })
        },
        { requiredKeys: ["name", "required"] }
      ),
      { maxLength: 5 }
    ),
    version: fc.integer({ min: 1, max: 1000 }),
    created_at: isoArb,
    updated_at: isoArb
  })

  it("Template: encode(decode(json)) === json and decode builds a Template", () => {
    fc.assert(
      fc.property(templateJsonArb, (json) => {
        const template = Schema.decodeUnknownSync(Template)(json)
        expect(template).toBeInstanceOf(Template)
        expect(template.created_at.epochMillis).toBe(Date.parse(json.created_at))
        expect(Schema.encodeSync(Template)(template)).toEqual(json)
      })
    )
  })

  it("Template rejects a non-uuid id and a non-integer version", () => {
    const json = {
      id: "0192f1c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
      name: "t",
      type: "sms",
      subject: null,
      body: "b",
      html_body: null,
      syntax: "liquid",
      variables: [],
      version: 1,
      created_at: "2024-01-01T00:00:00.000Z",
      updated_at: "2024-01-01T00:00:00.000Z"
    }
    expect(accepts(Template)(json)).toBe(true)
    expect(accepts(Template)({ ...json, id: "nope" })).toBe(false)
    expect(accepts(Template)({ ...json, version: 1.5 })).toBe(false)
  })

  it("Notification: encode(decode(json)) === json", () => {
    const statusArb = fc.constantFrom(...NotificationStatus.literals)
    const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null })
    const notificationArb = fc.record({
      id: uuidArb,
      legacy_id: nullable(fc.integer({ min: 1, max: 2_147_483_647 })),
      user_id: userIdArb,
      template_id: nullable(uuidArb),
      template_version: nullable(fc.integer({ min: 1, max: 100 })),
      channel: fc.constantFrom("email", "sms", "push"),
      status: statusArb,
      priority: fc.constantFrom("high", "normal", "low"),
      recipient: nullable(fc.record({ phone: phoneArb })),
      variables: fc.dictionary(variableNameArb, fc.string({ maxLength: 10 }), {
        maxKeys: 3,
        noNullPrototype: true
      }),
      metadata: fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), {
        maxKeys: 3,
        noNullPrototype: true
      }),
      status_reason: nullable(fc.string({ maxLength: 10 })),
      error_message: nullable(fc.string({ maxLength: 10 })),
      provider_message_id: nullable(fc.string({ maxLength: 10 })),
      provider: nullable(fc.constantFrom("smtp", "sendgrid", "twilio", "fcm", "log")),
      attempts: fc.nat({ max: 20 }),
      content: nullable(
        fc.record({
          subject: nullable(fc.string({ maxLength: 10 })),
          text: fc.string({ maxLength: 20 }),
          html: nullable(fc.string({ maxLength: 20 })),
          sms: nullable(
            fc.record({
              encoding: fc.constantFrom("GSM-7", "UCS-2"),
              characters: fc.nat({ max: 2000 }),
              segments: fc.integer({ min: 1, max: 20 })
            })
          )
        })
      ),
      scheduled_at: nullable(isoArb),
      sent_at: nullable(isoArb),
      delivered_at: nullable(isoArb),
      failed_at: nullable(isoArb),
      created_at: isoArb,
      updated_at: isoArb
    })
    fc.assert(
      fc.property(notificationArb, (json) => {
        const notification = Schema.decodeUnknownSync(Notification)(json)
        expect(notification).toBeInstanceOf(Notification)
        expect(Schema.encodeSync(Notification)(notification)).toEqual(json)
      })
    )
  })
})

describe("UpdateStatus", () => {
  it.each(["pending", "scheduled", "sending", "sent", "delivered", "failed", "bounced", "suppressed", "cancelled"])(
    "accepts status %s",
    (status) => {
      expect(Schema.decodeUnknownSync(UpdateStatus)({ status })).toEqual({
        status
      })
    }
  )

  it("rejects unknown statuses and a missing status", () => {
    expect(accepts(UpdateStatus)({ status: "read" })).toBe(false)
    expect(accepts(UpdateStatus)({})).toBe(false)
  })

  it("bounds error_message (1..2000) and provider_message_id (1..255)", () => {
    const ok = (extra: object) => accepts(UpdateStatus)({ status: "failed", ...extra })
    expect(ok({ error_message: "x" })).toBe(true)
    expect(ok({ error_message: "x".repeat(2000) })).toBe(true)
    expect(ok({ error_message: "" })).toBe(false)
    expect(ok({ error_message: "x".repeat(2001) })).toBe(false)
    expect(ok({ provider_message_id: "x".repeat(255) })).toBe(true)
    expect(ok({ provider_message_id: "x".repeat(256) })).toBe(false)
    expect(ok({ provider_message_id: "" })).toBe(false)
  })
})

describe("ListNotificationsParams", () => {
  it("decodes query strings: limit as a number, dates as DateTimes", () => {
    const decoded = Schema.decodeUnknownSync(ListNotificationsParams)({
      limit: "10",
      status: "sent",
      channel: "sms",
      from: "2024-01-01T00:00:00Z",
      to: "2024-02-01T00:00:00Z"
    })
    expect(decoded.limit).toBe(10)
    expect(decoded.status).toBe("sent")
    expect(decoded.from?.epochMillis).toBe(Date.UTC(2024, 0, 1))
    expect(decoded.to?.epochMillis).toBe(Date.UTC(2024, 1, 1))
    expect(Schema.decodeUnknownSync(ListNotificationsParams)({})).toEqual({})
  })

  it("rejects from after to, accepts from equal to or before to", () => {
    fc.assert(
      fc.property(isoArb, isoArb, (a, b) => {
        const ok = accepts(ListNotificationsParams)({ from: a, to: b })
        expect(ok).toBe(Date.parse(a) <= Date.parse(b))
      })
    )
    expect(
      failure(ListNotificationsParams)({
        from: "2024-02-01T00:00:00Z",
        to: "2024-01-01T00:00:00Z"
      })
    ).toContain("from must not be after to")
  })

  it.each([
    { limit: "0" },
    { limit: "101" },
    { limit: "1.5" },
    { limit: "ten" },
    { status: "read" },
    { channel: "fax" },
    { from: "yesterday" },
    { cursor: "c".repeat(513) }
  ])("rejects %j", (params) => {
    expect(accepts(ListNotificationsParams)(params)).toBe(false)
  })

  it("ListTemplatesParams bounds the name prefix", () => {
    expect(accepts(ListTemplatesParams)({ name: "pay" })).toBe(true)
    expect(accepts(ListTemplatesParams)({ name: "" })).toBe(false)
    expect(accepts(ListTemplatesParams)({ name: "n".repeat(101) })).toBe(false)
  })
})

describe("Pagination (domain)", () => {
  it("Limit accepts exactly the integers 1..100 written as strings", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), (n) => {
        expect(accepts(Limit)(String(n))).toBe(n >= 1 && n <= 100)
      })
    )
    expect(Schema.decodeUnknownSync(Limit)("100")).toBe(100)
    expect(accepts(Limit)("50.5")).toBe(false)
  })

  it("Cursor allows at most 512 characters", () => {
    expect(accepts(Cursor)("c".repeat(512))).toBe(true)
    expect(accepts(Cursor)("c".repeat(513))).toBe(false)
  })

  it("Page wraps items with pagination info", () => {
    const page = Page(Schema.Number, "NumberPage")
    const body = {
      data: [1, 2],
      pagination: { limit: 2, next_cursor: "abc", has_more: true }
    }
    expect(Schema.decodeUnknownSync(page)(body)).toEqual(body)
    expect(
      accepts(page)({
        data: [1],
        pagination: { limit: 2, next_cursor: null, has_more: false }
      })
    ).toBe(true)
    expect(
      accepts(page)({
        data: ["x"],
        pagination: { limit: 2, next_cursor: null, has_more: false }
      })
    ).toBe(false)
    expect(accepts(page)({ data: [], pagination: { limit: 2, has_more: false } })).toBe(false)
  })
})

describe("PreferenceInput", () => {
  it("rejects exactly one of the quiet hours set", () => {
    const oneSided = fc.oneof(
      localTimeArb.map((t) => ({ quiet_hours_start: t })),
      localTimeArb.map((t) => ({ quiet_hours_end: t })),
      localTimeArb.map((t) => ({
        quiet_hours_start: t,
        quiet_hours_end: null
      })),
      localTimeArb.map((t) => ({
        quiet_hours_start: null,
        quiet_hours_end: t
      }))
    )
    fc.assert(
      fc.property(oneSided, (input) => {
        expect(failure(PreferenceInput)(input)).toContain(
          "quiet_hours_start and quiet_hours_end are set together or not at all"
        )
      })
    )
  })

  it("accepts any two different HH:MM times", () => {
    fc.assert(
      fc.property(
        localTimeArb,
        localTimeArb.filter((t) => t !== "00:00"),
        fc.boolean(),
        (start, end, swap) => {
          const [s, e] = start === end ? [start, "00:00"] : swap ? [end, start] : [start, end]
          expect(
            accepts(PreferenceInput)({
              quiet_hours_start: s,
              quiet_hours_end: e
            })
          ).toBe(true)
        }
      )
    )
  })

  it("rejects quiet hours that start and end at the same time", () => {
    fc.assert(
      fc.property(localTimeArb, (t) => {
        expect(
          failure(PreferenceInput)({
            quiet_hours_start: t,
            quiet_hours_end: t
          })
        ).toContain("quiet hours must not start and end at the same time")
      })
    )
  })

  it("accepts neither quiet hour, omitted or null", () => {
    expect(accepts(PreferenceInput)({})).toBe(true)
    expect(
      accepts(PreferenceInput)({
        quiet_hours_start: null,
        quiet_hours_end: null
      })
    ).toBe(true)
    expect(accepts(PreferenceInput)({ quiet_hours_start: null })).toBe(true)
  })

  it.each(["24:00", "7:00", "07:60", "0700", "07:00:00", "", "ab:cd", " 07:00"])("rejects the time %j", (time) => {
    expect(
      accepts(PreferenceInput)({
        quiet_hours_start: time,
        quiet_hours_end: "12:00"
      })
    ).toBe(false)
  })

  it("validates the time zone", () => {
    for (const zone of ["UTC", "Europe/London", "America/New_York", "Etc/GMT+5", "europe/london"]) {
      expect(accepts(PreferenceInput)({ timezone: zone }), zone).toBe(true)
    }
    for (const zone of ["", "Mars/Olympus_Mons", "../etc/passwd", "Europe/London ", "Europe//London", "x".repeat(65)]) {
      expect(accepts(PreferenceInput)({ timezone: zone }), zone).toBe(false)
    }
    expect(accepts(TimeZone)("Z")).toBe(false)
  })

  it("canonicalTimeZone canonicalizes case and refuses unknown or odd strings", () => {
    expect(canonicalTimeZone("UTC")).toBe("UTC")
    expect(canonicalTimeZone("utc")).toBe("UTC")
    expect(canonicalTimeZone("europe/london")).toBe("Europe/London")
    expect(canonicalTimeZone("Mars/Olympus_Mons")).toBeUndefined()
    expect(canonicalTimeZone("Europe/../London")).toBeUndefined()
    expect(canonicalTimeZone("")).toBeUndefined()
  })

  it("preferenceFields applies defaults and canonical time zones", () => {
    expect(preferenceFields(Schema.decodeUnknownSync(PreferenceInput)({}))).toStrictEqual({
      email_enabled: true,
      sms_enabled: true,
      push_enabled: true,
      quiet_hours_start: null,
      quiet_hours_end: null,
      timezone: "UTC"
    })
    expect(
      preferenceFields(
        Schema.decodeUnknownSync(PreferenceInput)({
          email_enabled: false,
          sms_enabled: false,
          push_enabled: false,
          quiet_hours_start: "22:00",
          quiet_hours_end: "07:00",
          timezone: "europe/london"
        })
      )
    ).toStrictEqual({
      email_enabled: false,
      sms_enabled: false,
      push_enabled: false,
      quiet_hours_start: "22:00",
      quiet_hours_end: "07:00",
      timezone: "Europe/London"
    })
  })

  it("encode(decode(x)) gives x back for valid inputs", () => {
    const inputArb = fc
      .record(
        {
          email_enabled: fc.boolean(),
          sms_enabled: fc.boolean(),
          push_enabled: fc.boolean(),
          timezone: fc.constantFrom("UTC", "Europe/London", "Asia/Tokyo", "America/New_York")
        },
        { requiredKeys: [] }
      )
      .chain((base) =>
        fc.oneof(
          fc.constant(base),
          fc
            .tuple(localTimeArb, localTimeArb)
            .filter(([s, e]) => s !== e)
            .map(([quiet_hours_start, quiet_hours_end]) => ({
              ...base,
              quiet_hours_start,
              quiet_hours_end
            }))
        )
      )
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(Schema.encodeSync(PreferenceInput)(Schema.decodeUnknownSync(PreferenceInput)(input))).toEqual(input)
      })
    )
  })
})

describe("UserIdFromString (path parameter)", () => {
  it("accepts plain decimal ids only", () => {
    expect(Schema.decodeUnknownSync(UserIdFromString)("42")).toBe(42)
    for (const bad of ["0x10", "1e3", " 42", "+7", "007", "42.0", "0", "-1", ""]) {
      expect(Either.isLeft(Schema.decodeUnknownEither(UserIdFromString)(bad)), bad).toBe(true)
    }
  })
})
