import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Fcm from "../../src/channels/Fcm.js"
import type { PushMessage } from "../../src/channels/Provider.js"
import * as Recorder from "./recorder.js"

const message: PushMessage = {
  _tag: "push",
  idempotencyKey: "0190a5e2-7c1b-7000-8000-000000000003",
  token: "device-token-1",
  title: "Order shipped",
  body: "Your order is on its way",
  data: { order_id: "42" }
}

const provider = (baseUrl: string) =>
  Fcm.make({ projectId: "bambu-app", accessToken: Redacted.make("ya29.token"), baseUrl })

const fcmError = (status: number, googleStatus: string, message: string, errorCode?: string) => ({
  status,
  body: {
    error: {
      code: status,
      message,
      status: googleStatus,
      details:
        errorCode === undefined ? [] : [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode }]
    }
  }
})

const summary = (error: { retryable: boolean; code: string; retryAfter?: Duration.Duration | undefined }) => ({
  retryable: error.retryable,
  code: error.code,
  retryAfter: error.retryAfter === undefined ? undefined : Duration.toMillis(error.retryAfter)
})

describe("FCM", () => {
  it.scopedLive("posts an HTTP v1 message with the notification id in its data", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      recorder.respond({ status: 200, body: { name: "projects/bambu-app/messages/0:1234" } })
      const fcm = yield* provider(recorder.baseUrl)

      const receipt = yield* fcm.send(message)

      expect(receipt).toEqual({ provider: "fcm", messageId: "projects/bambu-app/messages/0:1234" })
      expect(fcm).toMatchObject({ name: "fcm", channel: "push" })
      const [request] = recorder.requests
      expect(request?.method).toBe("POST")
      expect(request?.url).toBe("/v1/projects/bambu-app/messages:send")
      expect(request?.headers.authorization).toBe("Bearer ya29.token")
      expect(request?.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(request?.body ?? "")).toEqual({
        message: {
          token: "device-token-1",
          notification: { title: "Order shipped", body: "Your order is on its way" },
          data: { order_id: "42", notification_id: message.idempotencyKey }
        }
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("leaves out a missing title", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      recorder.respond({ status: 200, body: { name: "projects/bambu-app/messages/1" } })
      const fcm = yield* provider(recorder.baseUrl)

      yield* fcm.send({ ...message, title: null })

      expect(JSON.parse(recorder.requests[0]?.body ?? "").message.notification).toEqual({
        body: "Your order is on its way"
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("classifies FCM's error codes", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      const fcm = yield* provider(recorder.baseUrl)
      recorder.respond(
        fcmError(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
        fcmError(
          400,
          "INVALID_ARGUMENT",
          "The registration token is not a valid FCM registration token",
          "INVALID_ARGUMENT"
        ),
        fcmError(400, "INVALID_ARGUMENT", "Invalid value at 'message.data[0].value'", "INVALID_ARGUMENT"),
        fcmError(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"),
        {
          ...fcmError(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric", "QUOTA_EXCEEDED"),
          headers: { "retry-after": "60" }
        },
        fcmError(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
        fcmError(500, "INTERNAL", "Internal error encountered.", "INTERNAL"),
        fcmError(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
        { status: 502, body: "<html>Bad Gateway</html>" }
      )

      const results = []
      for (let i = 0; i < 9; i++) results.push(summary(yield* Effect.flip(fcm.send(message))))

      expect(results).toEqual([
        { retryable: false, code: "invalid_token", retryAfter: undefined },
        { retryable: false, code: "invalid_token", retryAfter: undefined },
        { retryable: false, code: "invalid_request", retryAfter: undefined },
        { retryable: false, code: "sender_id_mismatch", retryAfter: undefined },
        { retryable: true, code: "rate_limited", retryAfter: 60_000 },
        { retryable: true, code: "server_error", retryAfter: undefined },
        { retryable: true, code: "server_error", retryAfter: undefined },
        { retryable: false, code: "unauthorized", retryAfter: undefined },
        { retryable: true, code: "server_error", retryAfter: undefined }
      ])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("keeps FCM's error code and explanation in the message", () =>
    Effect.gen(function* () {
      const recorder = yield* Recorder.make
      const fcm = yield* provider(recorder.baseUrl)
      recorder.respond(fcmError(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"))

      const error = yield* Effect.flip(fcm.send(message))

      expect(error.provider).toBe("fcm")
      expect(error.message).toBe("404: UNREGISTERED: Requested entity was not found.")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scopedLive("retries when FCM cannot be reached", () =>
    Effect.gen(function* () {
      const port = yield* Recorder.closedPort
      const fcm = yield* provider(`http://127.0.0.1:${port}`)

      const error = yield* Effect.flip(fcm.send(message))

      expect(summary(error)).toEqual({ retryable: true, code: "connection", retryAfter: undefined })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.effect("reads its settings from the environment", () =>
    Effect.gen(function* () {
      const config = yield* Fcm.config
      expect(config.projectId).toBe("bambu-app")
      expect(Redacted.value(config.accessToken)).toBe("ya29.env")
      expect(config.baseUrl).toBe("https://fcm.googleapis.com")
    }).pipe(
      Effect.withConfigProvider(
        ConfigProvider.fromMap(
          new Map([
            ["FCM_PROJECT_ID", "bambu-app"],
            ["FCM_ACCESS_TOKEN", "ya29.env"]
          ])
        )
      )
    )
  )
})
