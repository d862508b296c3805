import { describe, expect } from "@effect/vitest"
import type { Template, TemplateId, TemplateInput, UserId } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { client, json, keys, raw, unique, uniqueUserId, withServer } from "./support/server.js"

interface Problem {
  readonly type: string
  readonly status: number
  readonly detail?: string
  readonly errors?: ReadonlyArray<{ readonly path: string; readonly message: string }>
}

const unprocessable = "https://notification-service.dev/problems/unprocessable"

const createTemplate = (input: Omit<TemplateInput, "name">) =>
  Effect.gen(function* () {
    const api = yield* client()
    return yield* api.templates.create({ payload: { ...input, name: unique(`render_${input.type}`) } })
  })

/** A template create sent raw, for the error bodies. */
const createRaw = (input: Record<string, unknown>) =>
  raw("/api/v1/templates", json("POST", { name: unique("render_invalid"), ...input }))

const preview = (template: Template, variables: Record<string, unknown>) =>
  Effect.gen(function* () {
    const api = yield* client()
    return yield* api.templates.preview({ path: { id: template.id }, payload: { variables } })
  })

/** A preview sent raw, for the error bodies. */
const previewRaw = (id: string, variables: Record<string, unknown>, key: string = keys.admin) =>
  raw(`/api/v1/templates/${id}/preview`, json("POST", { variables }, key))

const paths = (body: unknown) => ((body as Problem).errors ?? []).map((error) => error.path)

/** A send sent raw, for the status and the error bodies. */
const sendRaw = (template: Template, userId: number, variables: Record<string, unknown>) =>
  raw("/api/v1/notifications/send", json("POST", { user_id: userId, template_id: template.id, variables }))

const storedFor = (userId: number) =>
  Effect.gen(function* () {
    const api = yield* client()
    const page = yield* api.notifications.listForUser({ path: { user_id: userId as UserId }, urlParams: {} })
    return page.data
  })

const smsBody = { type: "sms", body: "{{ text }}", variables: [{ name: "text" }] } as const

withServer()("rendering", (it) => {
  it.effect("previews a Liquid email: subject and text as they are, HTML escaped, filters applied", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate({
        type: "email",
        subject: "Hi {{ name }}",
        body: "Hello {{ name | upcase }}, you paid {{ amount }}.",
        html_body: "<p>Hello <b>{{ name }}</b>, you paid {{ amount }}.</p>",
        variables: [{ name: "name" }, { name: "amount" }]
      })
      expect(template.syntax).toBe("liquid")
      const rendered = yield* preview(template, { name: "<script>alert('x')</script>", amount: '€12 & "more"' })
      expect(rendered).toEqual({
        subject: "Hi <script>alert('x')</script>",
        text: "Hello <SCRIPT>ALERT('X')</SCRIPT>, you paid €12 & \"more\".",
        html: "<p>Hello <b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</b>, you paid €12 &amp; &#34;more&#34;.</p>",
        sms: null
      })

      const plain = yield* preview(template, { name: "Ada", amount: 12.5 })
      expect(plain).toEqual({
        subject: "Hi Ada",
        text: "Hello ADA, you paid 12.5.",
        html: "<p>Hello <b>Ada</b>, you paid 12.5.</p>",
        sms: null
      })
    })
  )

  it.effect("escapes HTML exactly once: `escape`, `capture`; `raw` does not exist", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate({
        type: "email",
        subject: "{{ name | append: '!' }}",
        body: "{{ name }}",
        html_body:
          "{% capture greeting %}<i>{{ name }}</i>{% endcapture %}{{ greeting }}|{{ name | escape }}|{{ name | escape_once }}",
        variables: [{ name: "name" }]
      })
      const rendered = yield* preview(template, { name: "<a&b>" })
      expect(rendered.subject).toBe("<a&b>!")
      expect(rendered.html).toBe("<i>&lt;a&amp;b&gt;</i>|&lt;a&amp;b&gt;|&lt;a&amp;b&gt;")

      const rawFilter = yield* createRaw({
        type: "email",
        subject: "s",
        body: "b",
        html_body: "{{ name | raw }}",
        variables: [{ name: "name" }]
      })
      expect(rawFilter.status).toBe(422)
      expect(paths(rawFilter.body)).toEqual(["html_body"])
    })
  )

  it.effect("previews an SMS with its encoding and segments", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate(smsBody)
      const single = yield* preview(template, { text: "a".repeat(160) })
      expect(single).toEqual({
        subject: null,
        text: "a".repeat(160),
        html: null,
        sms: { encoding: "GSM-7", characters: 160, segments: 1 }
      })
      const two = yield* preview(template, { text: "a".repeat(161) })
      expect(two.sms).toEqual({ encoding: "GSM-7", characters: 161, segments: 2 })
      // Extension characters take two septets.
      const euros = yield* preview(template, { text: "€".repeat(81) })
      expect(euros.sms).toEqual({ encoding: "GSM-7", characters: 162, segments: 2 })

      const emoji = yield* preview(template, { text: "Paid 😀" })
      expect(emoji.sms).toEqual({ encoding: "UCS-2", characters: 7, segments: 1 })
      const ucs2Single = yield* preview(template, { text: `${"é".repeat(69)}ж` })
      expect(ucs2Single.sms).toEqual({ encoding: "UCS-2", characters: 70, segments: 1 })
      const ucs2Two = yield* preview(template, { text: "ж".repeat(71) })
      expect(ucs2Two.sms).toEqual({ encoding: "UCS-2", characters: 71, segments: 2 })
      // The default limit is 3 segments: 4 × 153 characters are refused.
      const four = yield* previewRaw(template.id, { text: "a".repeat(153 * 3 + 1) })
      expect(four.status).toBe(422)
      expect((four.body as Problem).detail).toContain("4 segments")
    })
  )

  it.effect("refuses a preview missing a required variable: 422 listing each one", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate({
        type: "email",
        subject: "Hi {{ name }}",
        body: "{{ name }} paid {{ amount }}",
        variables: [{ name: "name" }, { name: "amount" }]
      })
      const response = yield* previewRaw(template.id, {})
      expect(response.status).toBe(422)
      expect(response.headers.get("content-type")).toBe("application/problem+json")
      const body = response.body as Problem
      expect(body.type.endsWith("/unprocessable")).toBe(true)
      expect(body).toMatchObject({ type: unprocessable, status: 422 })
      expect(paths(body)).toEqual(["variables.name", "variables.amount"])

      const nullValue = yield* previewRaw(template.id, { name: null, amount: "1" })
      expect(nullValue.status).toBe(422)
      expect(paths(nullValue.body)).toEqual(["variables.name"])

      const api = yield* client()
      const viaClient = yield* api.templates
        .preview({ path: { id: template.id }, payload: { variables: { name: "Ada" } } })
        .pipe(Effect.flip)
      expect(viaClient._tag).toBe("Unprocessable")
    })
  )

  it.effect("an optional variable left out renders as nothing; a missing property names its variable", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate({
        type: "email",
        subject: "Hi {{ name }}",
        body: "Hello {{ name }}. {{ note }}",
        variables: [{ name: "name" }, { name: "note", required: false }]
      })
      expect((yield* preview(template, { name: "Ada" })).text).toBe("Hello Ada. ")

      // Strict variables still catch what a given value lacks, reported at the variable.
      const nested = yield* createTemplate({
        type: "sms",
        body: "Total {{ order.total }}",
        variables: [{ name: "order" }]
      })
      const response = yield* previewRaw(nested.id, { order: { id: 1 } })
      expect(response.status).toBe(422)
      const body = response.body as Problem
      expect(body.type).toBe(unprocessable)
      expect(body.errors).toEqual([
        { path: "variables.order.total", message: expect.stringContaining("undefined variable: order.total") }
      ])

      // A null is a value too: the optional variable prints as nothing.
      const nullNote = yield* preview(template, { name: "Ada", note: null })
      expect(nullNote.text).toBe("Hello Ada. ")
      const given = yield* preview(template, { name: "Ada", note: "Thanks" })
      expect(given.text).toBe("Hello Ada. Thanks")

      // What a template does with an optional variable: `if` and `default` are lenient.
      const lenient = yield* createTemplate({
        type: "push",
        body: "Hello {{ name }}.{% if note %} {{ note }}{% endif %} {{ sign | default: 'Team' }}",
        variables: [{ name: "name" }, { name: "note", required: false }, { name: "sign", required: false }]
      })
      const without = yield* preview(lenient, { name: "Ada" })
      expect(without).toEqual({ subject: null, text: "Hello Ada. Team", html: null, sms: null })
      const withBoth = yield* preview(lenient, { name: "Ada", note: "Thanks.", sign: "Bo" })
      expect(withBoth.text).toBe("Hello Ada. Thanks. Bo")
    })
  )

  it.effect("refuses a Liquid template that does not parse: 422 at the field", () =>
    Effect.gen(function* () {
      for (const body of ["Hello {{ name ", "{% if %}", "{% if name %}open", "{{ name | bogus }}", "{% endif %}"]) {
        const response = yield* createRaw({ type: "sms", body, variables: [{ name: "name" }] })
        expect(response.status, body).toBe(422)
        expect((response.body as Problem).type, body).toBe(unprocessable)
        expect(paths(response.body), body).toEqual(["body"])
      }
      const badSubject = yield* createRaw({
        type: "email",
        subject: "{{ name",
        body: "ok",
        html_body: "{% for %}",
        variables: [{ name: "name" }]
      })
      expect(badSubject.status).toBe(422)
      expect(paths(badSubject.body)).toEqual(["subject", "html_body"])
    })
  )

  it.effect("refuses a Liquid template using an undeclared variable, on create and update", () =>
    Effect.gen(function* () {
      const response = yield* createRaw({
        type: "email",
        subject: "For {{ who }}",
        body: "Hello {{ name }}, {{ order.total }}{% if vip %}!{% endif %}",
        variables: [{ name: "name" }]
      })
      expect(response.status).toBe(422)
      expect((response.body as Problem).errors).toEqual([
        { path: "subject", message: "uses variable 'who', which is not declared" },
        { path: "body", message: "uses variable 'order', which is not declared" },
        { path: "body", message: "uses variable 'vip', which is not declared" }
      ])

      // What the template assigns itself is not a variable.
      yield* createTemplate({
        type: "push",
        body: "{% assign greeting = 'Hi' %}{% capture who %}{{ name }}{% endcapture %}{{ greeting }} {{ who }}{% for i in (1..2) %}{{ i }}{% endfor %}",
        variables: [{ name: "name" }]
      })

      const template = yield* createTemplate({ type: "push", body: "Hello {{ name }}", variables: [{ name: "name" }] })
      const update = yield* raw(
        `/api/v1/templates/${template.id}`,
        json("PUT", { name: template.name, type: "push", body: "Hello {{ nom }}", variables: [{ name: "name" }] })
      )
      expect(update.status).toBe(422)
      expect((update.body as Problem).errors).toEqual([
        { path: "body", message: "uses variable 'nom', which is not declared" }
      ])
      const api = yield* client()
      const unchanged = yield* api.templates.get({ path: { id: template.id } })
      expect(unchanged.version).toBe(1)
    })
  )

  it.effect("refuses includes: a template cannot load other templates", () =>
    Effect.gen(function* () {
      for (const body of ["{% include 'x' %}", "{% render 'x' %}", "{% layout 'x' %}ok"]) {
        const response = yield* createRaw({ type: "sms", body })
        expect(response.status, body).toBe(422)
        const problem = response.body as Problem
        expect(paths(problem), body).toEqual(["body"])
        expect(problem.errors?.[0]?.message, body).toContain("a template cannot load other templates")
      }
    })
  )

  it.effect("refuses an HTML body on a template that is not an email: 400", () =>
    Effect.gen(function* () {
      for (const type of ["sms", "push"]) {
        const response = yield* createRaw({ type, body: "b", html_body: "<p>b</p>" })
        expect(response.status, type).toBe(400)
        expect(response.body).toMatchObject({
          type: "https://notification-service.dev/problems/bad-request",
          errors: [{ path: "html_body", message: "only email templates have an HTML body" }]
        })
      }
      // `null` is no HTML body.
      const sms = yield* createTemplate({ type: "sms", body: "b", html_body: null })
      expect(sms.html_body).toBeNull()
    })
  )

  it.effect("renders a legacy template the monolith's way: str() of each value, unknown placeholders kept", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate({
        type: "email",
        syntax: "legacy",
        subject: "Order {id} for {name}",
        body: "{name}: {count} {flag} {nothing} {items} {prices} {map} {other} {{name}} { name } {1x}",
        html_body: "<p>{name} {other}</p>",
        variables: [{ name: "name" }, { name: "nothing", required: false }]
      })
      expect(template.syntax).toBe("legacy")
      const rendered = yield* preview(template, {
        name: "<Ada>",
        id: 42,
        count: 42,
        flag: true,
        nothing: null,
        items: ["a", 1],
        prices: [12.5, 0.00001, false],
        map: { k: "it's", n: null }
      })
      expect(rendered).toEqual({
        subject: "Order 42 for <Ada>",
        text: "<Ada>: 42 True None ['a', 1] [12.5, 1e-05, False] {'k': \"it's\", 'n': None} {other} {<Ada>} { name } {1x}",
        html: "<p>&lt;Ada&gt; {other}</p>",
        sms: null
      })

      // Sequential replacement: a value is replaced again by a later variable.
      const chained = yield* createTemplate({ type: "push", syntax: "legacy", body: "{a}" })
      expect((yield* preview(chained, { a: "{b}", b: "x" })).text).toBe("x")
      expect((yield* preview(chained, { b: "x", a: "{b}" })).text).toBe("{b}")
      // No strictness: nothing given, nothing replaced.
      expect((yield* preview(chained, {})).text).toBe("{a}")
    })
  )

  it.effect("a legacy template is not parsed as Liquid", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate({
        type: "sms",
        syntax: "legacy",
        body: "{% include 'x' %} {{ name } {name}",
        variables: [{ name: "name" }]
      })
      const rendered = yield* preview(template, { name: "Ada" })
      expect(rendered.text).toBe("{% include 'x' %} {{ name } Ada")
      // Braces are GSM-7 extension characters: two septets each.
      expect(rendered.sms).toEqual({ encoding: "GSM-7", characters: 36, segments: 1 })
    })
  )

  it.effect("preview answers 404 for an unknown template, 401 without a key, 403 without templates:read", () =>
    Effect.gen(function* () {
      const missing = yield* previewRaw("0192f1c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f", {})
      expect(missing.status).toBe(404)
      expect(missing.body).toMatchObject({ resource: "template", status: 404 })
      const api = yield* client()
      const viaClient = yield* api.templates
        .preview({ path: { id: "0192f1c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f" as TemplateId }, payload: {} })
        .pipe(Effect.flip)
      expect(viaClient._tag).toBe("NotFound")

      const template = yield* createTemplate({ type: "push", body: "Hi {{ name }}", variables: [{ name: "name" }] })
      const anonymous = yield* raw(`/api/v1/templates/${template.id}/preview`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ variables: { name: "Ada" } })
      })
      expect(anonymous.status).toBe(401)
      const writer = yield* previewRaw(template.id, { name: "Ada" }, keys.writer)
      expect(writer.status).toBe(403)
      expect(writer.body).toMatchObject({ required_scope: "templates:read", status: 403 })
      const reader = yield* client(keys.reader)
      const allowed = yield* reader.templates.preview({
        path: { id: template.id },
        payload: { variables: { name: "Ada" } }
      })
      expect(allowed.text).toBe("Hi Ada")

      // A deleted template is gone for previews too.
      yield* api.templates.delete({ path: { id: template.id } })
      expect((yield* previewRaw(template.id, { name: "Ada" })).status).toBe(404)
    })
  )

  it.effect("a send may omit an optional variable, never a required one; what is accepted is what is sent", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate({
        type: "push",
        body: "Hello {{ name }}. {{ note }}",
        variables: [{ name: "name" }, { name: "note", required: false }]
      })
      const userId = uniqueUserId()
      const missingRequired = yield* sendRaw(template, userId, { note: "x" })
      expect(missingRequired.status).toBe(422)
      expect(missingRequired.body).toMatchObject({ type: unprocessable, status: 422 })
      expect(paths(missingRequired.body)).toEqual(["variables.name"])
      expect(yield* storedFor(userId)).toEqual([])

      const withoutNote = yield* sendRaw(template, userId, { name: "Ada" })
      expect(withoutNote.status).toBe(202)
      expect(withoutNote.body).toMatchObject({ content: { text: "Hello Ada. " } })
      // The rendered content is fixed at acceptance: a later edit of the template does not change it.
      const api = yield* client()
      yield* api.templates.update({
        path: { id: template.id },
        payload: { name: template.name, type: "push", body: "Changed {{ name }}", variables: [{ name: "name" }] }
      })
      const stored = yield* storedFor(userId)
      expect(stored.length).toBe(1)
      expect(stored[0]).toMatchObject({ content: { text: "Hello Ada. " } })
    })
  )

  it.effect("bounds a render: too long or too much memory is 422", () =>
    Effect.gen(function* () {
      const slow = yield* createTemplate({
        type: "push",
        body: "{% for i in (1..20000) %}{% for j in (1..20000) %}{% endfor %}{% endfor %}x"
      })
      const timedOut = yield* previewRaw(slow.id, {})
      expect(timedOut.status).toBe(422)
      expect((timedOut.body as Problem).detail).toContain("template render limit exceeded")
      const big = yield* createTemplate({
        type: "push",
        body: "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}"
      })
      const tooBig = yield* previewRaw(big.id, {})
      expect(tooBig.status).toBe(422)
      expect((tooBig.body as Problem).detail).toContain("memory alloc limit exceeded")
    })
  )

  it.effect("a PUT that leaves the syntax out keeps it; naming it changes it", () =>
    Effect.gen(function* () {
      const api = yield* client()
      const legacy = yield* createTemplate({
        type: "push",
        syntax: "legacy",
        body: "Hi {name}",
        variables: [{ name: "name" }]
      })
      const kept = yield* api.templates.update({
        path: { id: legacy.id },
        payload: {
          name: legacy.name,
          type: "push",
          syntax: "legacy",
          body: "Hello {name}",
          variables: [{ name: "name" }]
        }
      })
      expect(kept.syntax).toBe("legacy")
      expect((yield* preview(kept, { name: "Ada" })).text).toBe("Hello Ada")
      // A client unaware of `syntax` must not turn `{name}` into literal text.
      const unaware = yield* api.templates.update({
        path: { id: legacy.id },
        payload: { name: legacy.name, type: "push", body: "Hi again {name}", variables: [{ name: "name" }] }
      })
      expect(unaware).toMatchObject({ syntax: "legacy", version: 3 })
      expect((yield* preview(unaware, { name: "Ada" })).text).toBe("Hi again Ada")
      const liquid = yield* api.templates.update({
        path: { id: legacy.id },
        payload: {
          name: legacy.name,
          type: "push",
          syntax: "liquid",
          body: "Hello {name}",
          variables: [{ name: "name" }]
        }
      })
      expect(liquid).toMatchObject({ syntax: "liquid", version: 4 })
      expect((yield* preview(liquid, { name: "Ada" })).text).toBe("Hello {name}")
    })
  )
})

describe("the SMS segment limit", () => {
  withServer({ SMS_MAX_SEGMENTS: "1" })((it) => {
    it.effect("refuses a preview and a send over the limit (422), storing nothing", () =>
      Effect.gen(function* () {
        const template = yield* createTemplate(smsBody)
        const fits = yield* preview(template, { text: "a".repeat(160) })
        expect(fits.sms).toEqual({ encoding: "GSM-7", characters: 160, segments: 1 })

        const over = yield* previewRaw(template.id, { text: "a".repeat(161) })
        expect(over.status).toBe(422)
        const problem = over.body as Problem
        expect(problem.type).toBe(unprocessable)
        expect(problem.detail).toContain("2 segments")
        expect(problem.detail).toContain("at most 1")
        expect(problem.errors).toEqual([{ path: "body", message: "exceeds the limit of 1 SMS segments" }])

        const emoji = yield* previewRaw(template.id, { text: `${"a".repeat(69)}😀` })
        expect(emoji.status).toBe(422)
        expect((emoji.body as Problem).detail).toContain("2 segments (UCS-2, 71 characters)")

        const userId = uniqueUserId()
        const send = yield* raw(
          "/api/v1/notifications/send",
          json("POST", {
            user_id: userId,
            template_id: template.id,
            variables: { text: "a".repeat(161) },
            recipient: { phone: "+15551234567" }
          })
        )
        expect(send.status).toBe(422)
        expect((send.body as Problem).detail).toContain("2 segments")
        expect(yield* storedFor(userId)).toEqual([])

        const ok = yield* sendRaw(template, userId, { text: "a".repeat(160) })
        expect(ok.status).toBe(202)
        expect((yield* storedFor(userId)).length).toBe(1)
      })
    )
  })
})
