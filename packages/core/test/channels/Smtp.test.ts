import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import type { EmailMessage } from "../../src/channels/Provider.js"
import * as Smtp from "../../src/channels/Smtp.js"
import { closedPort } from "./recorder.js"
import { type Received, smtpServer } from "./smtpServer.js"

const message: EmailMessage = {
  _tag: "email",
  idempotencyKey: "0190a5e2-7c1b-7000-8000-000000000004",
  to: "ada@example.com",
  subject: "Your receipt",
  text: "Thanks for your order.",
  html: "<p>Thanks for your <b>order</b>.</p>"
}

const settings = (port: number): Smtp.SmtpConfig => ({
  host: "127.0.0.1",
  port,
  secure: false,
  from: "Bambu <no-reply@bambu.example>",
  connectionTimeout: Duration.seconds(2),
  greetingTimeout: Duration.seconds(2),
  socketTimeout: Duration.seconds(5),
  maxConnections: 1
})

const smtpError = (responseCode: number, text: string) => Object.assign(new Error(text), { responseCode })

const summary = (error: { retryable: boolean; code: string }) => ({ retryable: error.retryable, code: error.code })

describe("SMTP", () => {
  it.scopedLive("delivers from, to, subject, a text and an html part, with the notification id", () =>
    Effect.gen(function* () {
      const server = yield* smtpServer()
      const smtp = yield* Smtp.make(settings(server.port))

      const receipt = yield* smtp.send(message)

      expect(receipt).toEqual({ provider: "smtp", messageId: `<${message.idempotencyKey}@notification-service>` })
      expect(smtp).toMatchObject({ name: "smtp", channel: "email" })
      expect(server.received).toHaveLength(1)
      const [{ envelope, mail }] = server.received as [Received]
      expect(envelope).toEqual({ from: "no-reply@bambu.example", to: ["ada@example.com"] })
      expect(mail.from?.value).toEqual([{ address: "no-reply@bambu.example", name: "Bambu" }])
      expect(mail.to).toMatchObject({ value: [{ address: "ada@example.com", name: "" }] })
      expect(mail.subject).toBe("Your receipt")
      expect(mail.text?.trim()).toBe("Thanks for your order.")
      expect(mail.html).toBe("<p>Thanks for your <b>order</b>.</p>")
      expect(mail.messageId).toBe(`<${message.idempotencyKey}@notification-service>`)
      expect(mail.headers.get("x-notification-id")).toBe(message.idempotencyKey)
    })
  )

  it.scopedLive("sends a text-only message when there is no html", () =>
    Effect.gen(function* () {
      const server = yield* smtpServer()
      const smtp = yield* Smtp.make(settings(server.port))

      yield* smtp.send({ ...message, html: null })

      const mail = server.received[0]?.mail
      expect(mail?.html).toBe(false)
      expect(mail?.text?.trim()).toBe("Thanks for your order.")
      expect(mail?.headers.get("content-type")).toMatchObject({ value: "text/plain" })
    })
  )

  it.scopedLive("logs in with the configured credentials", () =>
    Effect.gen(function* () {
      const logins: Array<string> = []
      const server = yield* smtpServer({
        authOptional: false,
        allowInsecureAuth: true,
        onAuth: (auth, _session, callback) => {
          logins.push(`${auth.username}:${auth.password}`)
          if (auth.password === "s3cret") callback(null, { user: auth.username })
          else callback(new Error("Invalid username or password"))
        }
      })
      const good = yield* Smtp.make({
        ...settings(server.port),
        auth: { user: "mailer", password: Redacted.make("s3cret") }
      })
      const bad = yield* Smtp.make({
        ...settings(server.port),
        auth: { user: "mailer", password: Redacted.make("nope") }
      })

      yield* good.send(message)
      const refused = yield* Effect.flip(bad.send(message))

      expect(logins).toEqual(["mailer:s3cret", "mailer:nope"])
      expect(server.received).toHaveLength(1)
      expect(summary(refused)).toEqual({ retryable: false, code: "unauthorized" })
    })
  )

  it.scopedLive("fails for good when the server refuses the recipient (550)", () =>
    Effect.gen(function* () {
      const server = yield* smtpServer({
        onRcptTo: (_address, _session, callback) => callback(smtpError(550, "No such user here"))
      })
      const smtp = yield* Smtp.make(settings(server.port))

      const error = yield* Effect.flip(smtp.send(message))

      expect(summary(error)).toEqual({ retryable: false, code: "invalid_recipient" })
      expect(error.provider).toBe("smtp")
      expect(error.message).toContain("550 No such user here")
    })
  )

  it.scopedLive("retries when the server defers the recipient (451)", () =>
    Effect.gen(function* () {
      const server = yield* smtpServer({
        onRcptTo: (_address, _session, callback) => callback(smtpError(451, "Try again later"))
      })
      const smtp = yield* Smtp.make(settings(server.port))

      const error = yield* Effect.flip(smtp.send(message))

      expect(summary(error)).toEqual({ retryable: true, code: "deferred" })
    })
  )

  it.scopedLive("retries when the server closes the session (421)", () =>
    Effect.gen(function* () {
      const server = yield* smtpServer({
        onRcptTo: (_address, _session, callback) => callback(smtpError(421, "Shutting down"))
      })
      const smtp = yield* Smtp.make(settings(server.port))

      const error = yield* Effect.flip(smtp.send(message))

      expect(summary(error)).toEqual({ retryable: true, code: "server_error" })
      expect(error.message).toContain("421 Shutting down")
    })
  )

  it.scopedLive("retries when nothing listens on the port", () =>
    Effect.gen(function* () {
      const port = yield* closedPort
      const smtp = yield* Smtp.make(settings(port))

      const error = yield* Effect.flip(smtp.send(message))

      expect(summary(error)).toEqual({ retryable: true, code: "connection" })
    })
  )

  it.live("closes its pooled connection when the scope closes", () =>
    Effect.gen(function* () {
      const server = yield* smtpServer()
      yield* Effect.scoped(Effect.flatMap(Smtp.make(settings(server.port)), (smtp) => smtp.send(message)))

      // The server notices the QUIT/close asynchronously.
      yield* Effect.suspend(() => (server.closed.connections === 1 ? Effect.void : Effect.fail("open"))).pipe(
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("2 seconds")))
      )
      expect(server.closed.connections).toBe(1)
    }).pipe(Effect.scoped)
  )

  describe("classifyError", () => {
    it("reads SMTP replies and nodemailer's error codes", () => {
      const cases: Array<[unknown, { retryable: boolean; code: string }]> = [
        [
          { code: "EENVELOPE", responseCode: 550, command: "RCPT TO" },
          { retryable: false, code: "invalid_recipient" }
        ],
        [
          { code: "EENVELOPE", responseCode: 553, command: "RCPT TO" },
          { retryable: false, code: "invalid_recipient" }
        ],
        [
          { code: "EMESSAGE", responseCode: 550, command: "DATA" },
          { retryable: false, code: "rejected" }
        ],
        [
          { code: "EENVELOPE", responseCode: 550, command: "MAIL FROM" },
          { retryable: false, code: "rejected" }
        ],
        [
          { code: "EMESSAGE", responseCode: 552, command: "DATA" },
          { retryable: false, code: "rejected" }
        ],
        [
          { code: "EAUTH", responseCode: 535, command: "AUTH PLAIN" },
          { retryable: false, code: "unauthorized" }
        ],
        [
          { code: "EAUTH", responseCode: 454, command: "AUTH PLAIN" },
          { retryable: true, code: "deferred" }
        ],
        [
          { code: "EENVELOPE", responseCode: 452, command: "RCPT TO" },
          { retryable: true, code: "rate_limited" }
        ],
        [
          { code: "EPROTOCOL", responseCode: 503, command: "DATA" },
          { retryable: true, code: "deferred" }
        ],
        [{ code: "ETIMEDOUT" }, { retryable: true, code: "timeout" }],
        [
          { code: "ESOCKET", originalCode: "ECONNRESET" },
          { retryable: true, code: "connection" }
        ],
        [
          { code: "EDNS", originalCode: "ENOTFOUND" },
          { retryable: true, code: "connection" }
        ],
        [{ code: "ECONNECTION" }, { retryable: true, code: "connection" }],
        [{ code: "EAUTH" }, { retryable: false, code: "unauthorized" }],
        [{ code: "ENOAUTH" }, { retryable: false, code: "invalid_request" }],
        [new Error("something else"), { retryable: true, code: "unknown" }],
        ["not even an error", { retryable: true, code: "unknown" }]
      ]
      for (const [error, expected] of cases) expect(Smtp.classifyError(error), JSON.stringify(error)).toEqual(expected)
    })
  })

  describe("config", () => {
    const withEnv = (env: Record<string, string>) =>
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

    it.effect("defaults to port 587 without implicit TLS or login", () =>
      Effect.gen(function* () {
        const config = yield* Smtp.config
        expect(config).toMatchObject({
          host: "smtp.example",
          port: 587,
          secure: false,
          auth: undefined,
          from: "Bambu <no-reply@bambu.example>",
          maxConnections: 5
        })
        expect(Duration.toMillis(config.connectionTimeout)).toBe(10_000)
        expect(Duration.toMillis(config.socketTimeout)).toBe(30_000)
      }).pipe(withEnv({ SMTP_HOST: "smtp.example", EMAIL_FROM: "Bambu <no-reply@bambu.example>" }))
    )

    it.effect("reads credentials, TLS and timeouts", () =>
      Effect.gen(function* () {
        const config = yield* Smtp.config
        expect(config).toMatchObject({ port: 465, secure: true, auth: { user: "mailer" } })
        expect(config.auth && Redacted.value(config.auth.password)).toBe("s3cret")
        expect(Duration.toMillis(config.connectionTimeout)).toBe(5_000)
      }).pipe(
        withEnv({
          SMTP_HOST: "smtp.example",
          SMTP_PORT: "465",
          SMTP_SECURE: "true",
          SMTP_USER: "mailer",
          SMTP_PASSWORD: "s3cret",
          SMTP_CONNECTION_TIMEOUT: "5 seconds",
          EMAIL_FROM: "no-reply@bambu.example"
        })
      )
    )
  })
})
