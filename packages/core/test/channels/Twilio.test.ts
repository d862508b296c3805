import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import type { SmsMessage } from "../../src/channels/Provider.js"
import * as Twilio from "../../src/channels/Twilio.js"
import * as Recorder from "./recorder.js"

const message: SmsMessage = {
  _tag: "sms",
  idempotencyKey: "0190a5e2-7c1b-7000-8000-000000000002",
  to: "+15558675310",
  body: "Your code is 123456 & expires soon"
}

const accountSid = "AC00000000000000000000000000000001"

const provider = (baseUrl: string, overrides: Partial<Twilio.TwilioConfig> = {}) =>
  Twilio.make({
    accountSid,
    authToken: Redacted.make("auth-token"),
    sender: { from: "+15550001111" },
    baseUrl,
    ...overrides
  })

const twilioError = (status: number, code: number, message: string) => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }
})

const summary = (error: { retryable: boolean; code: string; retryAfter?: Duration.Duration | undefined }) => ({
  retryable: error.retryable,
  code: error.code,
  retryAfter: error.retryAfter === undefined ? undefined : Duration.toMillis(error.retryAfter)
})

describe("Twilio", () => {
  it.scopedLive("posts a form to the account's Messages.json with basic auth and the idempotency token", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      recorder.respond({ status: 201, body: { sid: "SM123", status: "queued" } })
      const twilio = yield* provider(recorder.baseUrl, { statusCallbackUrl: "https://hooks.example/twilio" })

      const receipt = yield* twilio.send(message)

      expect(receipt).toEqual({ provider: "twilio", messageId: "SM123" })
      expect(twilio).toMatchObject({ name: "twilio", channel: "sms" })
      const [request] = recorder.requests
      expect(request?.method).toBe("POST")
      expect(request?.url).toBe(`/2010-04-01/Accounts/${accountSid}/Messages.json`)
      expect(request?.headers.authorization).toBe(`Basic ${Buffer.from(`${accountSid}:auth-token`).toString("base64")}`)
      expect(request?.headers["i-twilio-idempotency-token"]).toBe(message.idempotencyKey)
      expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded")
      expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({
        To: "+15558675310",
        From: "+15550001111",
        Body: "Your code is 123456 & expires soon",
        StatusCallback: "https://hooks.example/twilio"
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("sends through a Messaging Service instead of a From number", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      recorder.respond({ status: 201, body: { sid: "SM456" } })
      const twilio = yield* provider(recorder.baseUrl, { sender: { messagingServiceSid: "MG0001" } })

      yield* twilio.send(message)

      expect(Object.fromEntries(new URLSearchParams(recorder.requests[0]?.body))).toEqual({
        To: "+15558675310",
        MessagingServiceSid: "MG0001",
        Body: "Your code is 123456 & expires soon"
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("classifies Twilio's error codes and statuses", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      const twilio = yield* provider(recorder.baseUrl)
      recorder.respond(
        twilioError(400, 21211, "The 'To' number +1555 is not a valid phone number."),
        twilioError(400, 21614, "'To' number is not a valid mobile number"),
        twilioError(400, 21610, "Attempt to send to unsubscribed recipient"),
        twilioError(400, 21408, "Permission to send an SMS has not been enabled for the region"),
        twilioError(400, 21602, "Message body is required."),
        twilioError(401, 20003, "Authenticate"),
        { ...twilioError(429, 20429, "Too Many Requests"), headers: { "retry-after": "5" } },
        { status: 503, body: "Service Unavailable" },
        twilioError(500, 20500, "Internal Server Error")
      )

      const results = []
      for (let i = 0; i < 9; i++) results.push(summary(yield* Effect.flip(twilio.send(message))))

      expect(results).toEqual([
        { retryable: false, code: "invalid_recipient", retryAfter: undefined },
        { retryable: false, code: "invalid_recipient", retryAfter: undefined },
        { retryable: false, code: "invalid_recipient", retryAfter: undefined },
        { retryable: false, code: "invalid_recipient", retryAfter: undefined },
        { retryable: false, code: "invalid_request", retryAfter: undefined },
        { retryable: false, code: "unauthorized", retryAfter: undefined },
        { retryable: true, code: "rate_limited", retryAfter: 5_000 },
        { retryable: true, code: "server_error", retryAfter: undefined },
        { retryable: true, code: "server_error", retryAfter: undefined }
      ])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("names the Twilio code in the error message", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      const twilio = yield* provider(recorder.baseUrl)
      recorder.respond(twilioError(400, 21211, "Invalid 'To' Phone Number"))

      const error = yield* Effect.flip(twilio.send(message))

      expect(error.provider).toBe("twilio")
      expect(error.message).toBe("400: Twilio 21211: Invalid 'To' Phone Number")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("retries when Twilio cannot be reached", () =>
    Effect.gen(function* () {
      const port = yield* Recorder.closedPort
      const twilio = yield* provider(`http://127.0.0.1:${port}`)

      const error = yield* Effect.flip(twilio.send(message))

      expect(summary(error)).toEqual({ retryable: true, code: "connection", retryAfter: undefined })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  describe("config", () => {
    const withEnv = (env: Record<string, string>) =>
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
    const base = { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: "secret" }

    it.effect("takes TWILIO_FROM, with the default base URL", () =>
      Effect.gen(function* () {
        const config = yield* Twilio.config
        expect(config.sender).toEqual({ from: "+15550001111" })
        expect(config.baseUrl).toBe("https://api.twilio.com")
        expect(config.statusCallbackUrl).toBeUndefined()
        expect(Redacted.value(config.authToken)).toBe("secret")
      }).pipe(withEnv({ ...base, TWILIO_FROM: "+15550001111" }))
    )

    it.effect("prefers a Messaging Service to a From number", () =>
      Effect.gen(function* () {
        const config = yield* Twilio.config
        expect(config.sender).toEqual({ messagingServiceSid: "MG0001" })
        expect(config.statusCallbackUrl).toBe("https://hooks.example/twilio")
      }).pipe(
        withEnv({
          ...base,
          TWILIO_FROM: "+15550001111",
          TWILIO_MESSAGING_SERVICE_SID: "MG0001",
          TWILIO_STATUS_CALLBACK_URL: "https://hooks.example/twilio"
        })
      )
    )

    it.effect("refuses a configuration without any sender", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Twilio.config)
        expect(Exit.isFailure(exit)).toBe(true)
      }).pipe(withEnv(base))
    )
  })
})
