import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as Log from "../../src/channels/Log.js"

interface Captured {
  readonly level: string
  readonly message: ReadonlyArray<unknown>
  readonly annotations: Record<string, unknown>
}

const capture = () => {
  const lines: Array<Captured> = []
  const logger = Logger.make(({ logLevel, message, annotations }) => {
    lines.push({
      level: logLevel.label,
      message: Array.isArray(message) ? message : [message],
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("Log provider", () => {
  it.effect("logs the email it would deliver and answers with a log receipt", () => {
    const { lines, layer } = capture()
    return Effect.gen(function* () {
      const provider = yield* Log.make("email")
      const receipt = yield* provider.send({
        _tag: "email",
        idempotencyKey: "n-1",
        to: "ada@example.com",
        subject: "Welcome",
        text: "Hello Ada",
        html: "<p>Hello Ada</p>"
      })

      expect(provider).toMatchObject({ name: "log", channel: "email" })
      expect(receipt).toEqual({ provider: "log", messageId: "log-n-1" })
      expect(lines).toEqual([
        {
          level: "INFO",
          message: ["would deliver"],
          annotations: {
            provider: "log",
            channel: "email",
            notification_id: "n-1",
            to: "ada@example.com",
            subject: "Welcome",
            text: "Hello Ada",
            html: "<p>Hello Ada</p>"
          }
        }
      ])
    }).pipe(Effect.provide(layer))
  })

  it.effect("logs SMS and push messages with their recipient", () => {
    const { lines, layer } = capture()
    return Effect.gen(function* () {
      const sms = yield* Log.make("sms")
      const push = yield* Log.make("push")
      yield* sms.send({ _tag: "sms", idempotencyKey: "n-2", to: "+15558675310", body: "Code 1234" })
      const receipt = yield* push.send({
        _tag: "push",
        idempotencyKey: "n-3",
        token: "device-1",
        title: "Shipped",
        body: "On its way",
        data: { order_id: "42" }
      })

      expect(receipt).toEqual({ provider: "log", messageId: "log-n-3" })
      expect(lines.map((line) => line.annotations)).toEqual([
        { provider: "log", channel: "sms", notification_id: "n-2", to: "+15558675310", body: "Code 1234" },
        {
          provider: "log",
          channel: "push",
          notification_id: "n-3",
          to: "device-1",
          subject: "Shipped",
          body: "On its way",
          data: { order_id: "42" }
        }
      ])
    }).pipe(Effect.provide(layer))
  })
})
