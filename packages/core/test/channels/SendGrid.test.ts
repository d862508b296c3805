import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { EmailMessage } from "../../src/channels/Provider.js"
import * as SendGrid from "../../src/channels/SendGrid.js"
import * as Recorder from "./recorder.js"

const message: EmailMessage = {
  _tag: "email",
  idempotencyKey: "0190a5e2-7c1b-7000-8000-000000000001",
  to: "ada@example.com",
  subject: "Your receipt",
  text: "Thanks for your order.",
  html: "<p>Thanks for your order.</p>"
}

const provider = (baseUrl: string) =>
  SendGrid.make({ apiKey: Redacted.make("SG.test-key"), from: "Bambu <no-reply@bambu.example>", baseUrl })

const summary = (error: { retryable: boolean; code: string; retryAfter?: Duration.Duration | undefined }) => ({
  retryable: error.retryable,
  code: error.code,
  retryAfter: error.retryAfter === undefined ? undefined : Duration.toMillis(error.retryAfter)
})

describe("SendGrid", () => {
  it.scopedLive("posts v3 mail/send with bearer auth and the text part before the html part", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      recorder.respond({ status: 202, headers: { "x-message-id": "sg-msg-1" } })
      const sendgrid = yield* provider(`${recorder.baseUrl}/`)

      const receipt = yield* sendgrid.send(message)

      expect(receipt).toEqual({ provider: "sendgrid", messageId: "sg-msg-1" })
      expect(sendgrid).toMatchObject({ name: "sendgrid", channel: "email" })
      const [request] = recorder.requests
      expect(request?.method).toBe("POST")
      expect(request?.url).toBe("/v3/mail/send")
      expect(request?.headers.authorization).toBe("Bearer SG.test-key")
      expect(request?.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(request?.body ?? "")).toEqual({
        personalizations: [{ to: [{ email: "ada@example.com" }] }],
        from: { email: "no-reply@bambu.example", name: "Bambu" },
        subject: "Your receipt",
        content: [
          { type: "text/plain", value: "Thanks for your order." },
          { type: "text/html", value: "<p>Thanks for your order.</p>" }
        ],
        custom_args: { notification_id: message.idempotencyKey },
        headers: { "X-Notification-Id": message.idempotencyKey }
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("sends no html part without html, and falls back to the notification id as message id", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      recorder.respond({ status: 202 })
      const sendgrid = yield* provider(recorder.baseUrl)

      const receipt = yield* sendgrid.send({ ...message, html: null })

      expect(receipt.messageId).toBe(message.idempotencyKey)
      expect(JSON.parse(recorder.requests[0]?.body ?? "").content).toEqual([
        { type: "text/plain", value: "Thanks for your order." }
      ])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("classifies error answers", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      const sendgrid = yield* provider(recorder.baseUrl)
      const errors = (body: unknown) => ({ errors: [body] })
      recorder.respond(
        { status: 400, body: errors({ message: "The subject is required.", field: "subject" }) },
        {
          status: 400,
          body: errors({ message: "Does not contain a valid address.", field: "personalizations.0.to.0.email" })
        },
        { status: 401, body: errors({ message: "The provided authorization grant is invalid." }) },
        { status: 403, body: errors({ message: "The from address does not match a verified Sender Identity." }) },
        { status: 413, body: "too big" },
        { status: 429, headers: { "retry-after": "30" }, body: errors({ message: "too many requests" }) },
        { status: 500 },
        { status: 503, body: "<html>unavailable</html>" }
      )

      const results = []
      for (let i = 0; i < 8; i++) results.push(summary(yield* Effect.flip(sendgrid.send(message))))

      expect(results).toEqual([
        { retryable: false, code: "invalid_request", retryAfter: undefined },
        { retryable: false, code: "invalid_recipient", retryAfter: undefined },
        { retryable: false, code: "unauthorized", retryAfter: undefined },
        { retryable: false, code: "forbidden", retryAfter: undefined },
        { retryable: false, code: "payload_too_large", retryAfter: undefined },
        { retryable: true, code: "rate_limited", retryAfter: 30_000 },
        { retryable: true, code: "server_error", retryAfter: undefined },
        { retryable: true, code: "server_error", retryAfter: undefined }
      ])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("keeps SendGrid's explanation in the error message, within bounds", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      const sendgrid = yield* provider(recorder.baseUrl)
      recorder.respond(
        { status: 400, body: { errors: [{ message: "The subject is required.", field: "subject" }] } },
        { status: 502, body: `<html>${"x".repeat(5000)}</html>` }
      )

      const error = yield* Effect.flip(sendgrid.send(message))
      const gateway = yield* Effect.flip(sendgrid.send(message))

      expect(error._tag).toBe("ProviderError")
      expect(error.provider).toBe("sendgrid")
      expect(error.message).toBe("400: subject: The subject is required.")
      // A proxy's error page is cut short: the message is stored with the notification.
      expect(gateway.message.startsWith("502: <html>xxx")).toBe(true)
      expect(gateway.message.length).toBeLessThan(510)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("retries when SendGrid cannot be reached", () =>
    Effect.gen(function* () {
      const port = yield* Recorder.closedPort
      const sendgrid = yield* provider(`http://127.0.0.1:${port}`)

      const error = yield* Effect.flip(sendgrid.send(message))

      expect(summary(error)).toEqual({ retryable: true, code: "connection", retryAfter: undefined })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.effect("reads its settings from the environment", () =>
    Effect.gen(function* () {
      const config = yield* SendGrid.config
      expect(Redacted.value(config.apiKey)).toBe("SG.env")
      expect(config.from).toBe("Bambu <no-reply@bambu.example>")
      expect(config.baseUrl).toBe("https://api.sendgrid.com")
    }).pipe(
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["SENDGRID_API_KEY", "SG.env"],
            ["EMAIL_FROM", "Bambu <no-reply@bambu.example>"]
          ])
        )
      )
    )
  )

  it("parses a mailbox into SendGrid's address object", () => {
    expect(SendGrid.parseMailbox("Bambu <no-reply@bambu.example>")).toEqual({
      email: "no-reply@bambu.example",
      name: "Bambu"
    })
    expect(SendGrid.parseMailbox('"Bambu, Inc." <hi@bambu.example>')).toEqual({
      email: "hi@bambu.example",
      name: "Bambu, Inc."
    })
    expect(SendGrid.parseMailbox("<hi@bambu.example>")).toEqual({ email: "hi@bambu.example" })
    expect(SendGrid.parseMailbox(" hi@bambu.example ")).toEqual({ email: "hi@bambu.example" })
  })
})
