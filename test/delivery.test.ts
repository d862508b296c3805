import { spawnSync } from "node:child_process"
import { expect } from "@effect/vitest"
import { Dispatcher } from "@notification-service/core"
import type { Notification, NotificationId } from "@notification-service/domain"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { makeRecorder, type ReceivedMail, type Recorder, smtpServer } from "./support/providers.js"
import { client, json, query, raw, testServer, unique, uniqueUserId, withServerLayer } from "./support/server.js"

class Fakes extends Context.Tag("test/Fakes")<
  Fakes,
  {
    readonly mail: Array<ReceivedMail>
    readonly sendgrid: Recorder
    readonly twilio: Recorder
    readonly fcm: Recorder
  }
>() {}

/** The server with real adapters pointed at fakes: SendGrid then SMTP for email, Twilio, FCM. */
const server = Layer.unwrapScoped(
  Effect.gen(function* () {
    const smtp = yield* smtpServer()
    const sendgrid = yield* makeRecorder
    const twilio = yield* makeRecorder
    const fcm = yield* makeRecorder
    const fast = (channel: string, attempts: number) => ({
      [`${channel}_RETRY_MAX_ATTEMPTS`]: String(attempts),
      [`${channel}_RETRY_BASE_DELAY`]: "20 millis",
      [`${channel}_RETRY_MAX_DELAY`]: "1 second",
      [`${channel}_RETRY_JITTER`]: "false"
    })
    return testServer({
      EMAIL_PROVIDERS: "sendgrid,smtp",
      EMAIL_FROM: "Bambu <no-reply@bambu.example>",
      SENDGRID_API_KEY: "SG.test-key",
      SENDGRID_BASE_URL: sendgrid.baseUrl,
      SMTP_HOST: "127.0.0.1",
      SMTP_PORT: String(smtp.port),
      SMS_PROVIDERS: "twilio",
      TWILIO_BASE_URL: twilio.baseUrl,
      TWILIO_ACCOUNT_SID: "AC0123456789",
      TWILIO_AUTH_TOKEN: "twilio-secret",
      TWILIO_FROM: "+15005550006",
      PUSH_PROVIDERS: "fcm",
      FCM_BASE_URL: fcm.baseUrl,
      FCM_PROJECT_ID: "bambu",
      FCM_ACCESS_TOKEN: "ya29.test-token",
      ...fast("EMAIL", 2),
      ...fast("SMS", 3),
      ...fast("PUSH", 2),
      // Breakers are unit-tested; here they must not open between tests sharing the server.
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: "1000",
      DELIVERY_REQUEUE_DELAY: "1 hour",
      SMS_MAX_SEGMENTS: "2"
    }).pipe(Layer.merge(Layer.succeed(Fakes, { mail: smtp.received, sendgrid, twilio, fcm })))
  })
)

const createTemplate = (payload: Record<string, unknown>) =>
  Effect.suspend(() => raw("/api/v1/templates", json("POST", { name: unique("delivery"), ...payload }))).pipe(
    Effect.tap((response) => expect(response.status).toBe(201)),
    Effect.map((response) => response.body as { id: string })
  )

const smsTemplate = createTemplate({
  type: "sms",
  body: "Paid {{ amount }}. Ref {{ ref }}",
  variables: [{ name: "amount" }, { name: "ref" }]
})

const send = (body: Record<string, unknown>) =>
  raw("/api/v1/notifications/send", json("POST", body)).pipe(
    Effect.map((response) => response as { status: number; body: Notification & Record<string, unknown> })
  )

const sendSms = (userId: number, extra: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const template = yield* smsTemplate
    const response = yield* send({
      user_id: userId,
      template_id: template.id,
      variables: { amount: "€12.50", ref: "pay_1" },
      recipient: { phone: "+447700900123" },
      ...extra
    })
    expect(response.status).toBe(202)
    return response.body
  })

const dispatch = (id: string) => Effect.flatMap(Dispatcher, (dispatcher) => dispatcher.dispatch(id as NotificationId))

const fetchNotification = (id: string) =>
  Effect.flatMap(client(), (api) => api.notifications.get({ path: { id: id as NotificationId } }))

const events = (id: string) =>
  query<{ event_type: string; payload: Record<string, unknown>; metadata: Record<string, unknown> }>(
    "SELECT event_type, payload, metadata FROM outbox_events WHERE aggregate_id = $1 ORDER BY id",
    [id]
  )

const putPreferences = (userId: number, payload: Record<string, unknown>) =>
  raw(`/api/v1/preferences/user/${userId}`, json("PUT", payload)).pipe(
    Effect.tap((response) => expect(response.status).toBe(200))
  )

const hhmm = (date: Date) => date.toISOString().slice(11, 16)

withServerLayer(server)("delivery", (it) => {
  it.effect(
    "renders and delivers an email by SMTP after SendGrid keeps failing (failover); HTML escapes variables",
    () =>
      Effect.gen(function* () {
        const { mail, sendgrid } = yield* Fakes
        const template = yield* createTemplate({
          type: "email",
          subject: "Payment of {{ amount }} received",
          body: "Hello {{ name }}, we received {{ amount }}.",
          html_body: "<p>Hello {{ name }}, we received <b>{{ amount }}</b>.</p>",
          variables: [{ name: "name" }, { name: "amount" }]
        })
        const accepted = yield* send({
          user_id: uniqueUserId(),
          template_id: template.id,
          variables: { name: "Ada <script>", amount: "€12.50" },
          recipient: { email: "ada@example.com" }
        })
        expect(accepted.body.status).toBe("pending")
        const before = sendgrid.requests.length
        sendgrid.respond({ status: 503 }, { status: 503 })

        expect(yield* dispatch(accepted.body.id)).toBe("sent")

        // SendGrid was tried as the email retry policy says (2 attempts), then SMTP delivered.
        expect(sendgrid.requests.length - before).toBe(2)
        const received = mail.find((m) => m.envelope.to.includes("ada@example.com"))
        expect(received?.envelope.from).toBe("no-reply@bambu.example")
        expect(received?.mail.from?.text).toBe('"Bambu" <no-reply@bambu.example>')
        expect(received?.mail.subject).toBe("Payment of €12.50 received")
        expect(received?.mail.text?.trim()).toBe("Hello Ada <script>, we received €12.50.")
        expect(received?.mail.html).toBe("<p>Hello Ada &lt;script&gt;, we received <b>€12.50</b>.</p>")

        const stored = yield* fetchNotification(accepted.body.id)
        expect(stored).toMatchObject({
          status: "sent",
          provider: "smtp",
          attempts: 3,
          error_message: null,
          content: {
            subject: "Payment of €12.50 received",
            html: "<p>Hello Ada &lt;script&gt;, we received <b>€12.50</b>.</p>"
          }
        })
        expect(stored.provider_message_id).toEqual(expect.any(String))
        expect(stored.sent_at).not.toBeNull()
        const sent = (yield* events(accepted.body.id)).find((e) => e.event_type === "notification.sent")
        expect(sent?.metadata).toEqual({ provider: "smtp", message_id: stored.provider_message_id })
        expect(sent?.payload).toMatchObject({ notification_type: "email", template_id: template.id, attempts: 3 })
      })
  )

  it.effect("SendGrid delivers when it answers: its message id is recorded", () =>
    Effect.gen(function* () {
      const { sendgrid } = yield* Fakes
      const template = yield* createTemplate({
        type: "email",
        subject: "Hi",
        body: "Hi {{ name }}",
        variables: [{ name: "name" }]
      })
      const accepted = yield* send({
        user_id: uniqueUserId(),
        template_id: template.id,
        variables: { name: "Grace" },
        recipient: { email: "grace@example.com" }
      })
      sendgrid.respond({ status: 202, headers: { "x-message-id": "sg-msg-1" } })
      expect(yield* dispatch(accepted.body.id)).toBe("sent")
      expect(yield* fetchNotification(accepted.body.id)).toMatchObject({
        provider: "sendgrid",
        provider_message_id: "sg-msg-1",
        attempts: 1
      })
      const request = sendgrid.requests.at(-1)
      expect(request?.url).toBe("/v3/mail/send")
      expect(request?.headers.authorization).toBe("Bearer SG.test-key")
      expect(JSON.parse(request?.body ?? "{}")).toMatchObject({
        personalizations: [{ to: [{ email: "grace@example.com" }] }],
        subject: "Hi",
        content: [{ type: "text/plain", value: "Hi Grace" }],
        custom_args: { notification_id: accepted.body.id }
      })
    })
  )

  it.effect("SMS through Twilio: retried on 503 and 429 as configured, one idempotency token throughout", () =>
    Effect.gen(function* () {
      const { twilio } = yield* Fakes
      const accepted = yield* sendSms(uniqueUserId())
      const before = twilio.requests.length
      twilio.respond(
        { status: 503, body: { code: 20500, message: "down" } },
        { status: 429, headers: { "retry-after": "0" }, body: { code: 20429, message: "slow down" } },
        { status: 201, body: { sid: "SM0001" } }
      )
      expect(yield* dispatch(accepted.id)).toBe("sent")
      const calls = twilio.requests.slice(before)
      expect(calls).toHaveLength(3)
      for (const call of calls) {
        expect(call.method).toBe("POST")
        expect(call.url).toBe("/2010-04-01/Accounts/AC0123456789/Messages.json")
        expect(call.headers.authorization).toBe(`Basic ${Buffer.from("AC0123456789:twilio-secret").toString("base64")}`)
        expect(call.headers["i-twilio-idempotency-token"]).toBe(accepted.id)
        expect(Object.fromEntries(new URLSearchParams(call.body))).toEqual({
          To: "+447700900123",
          From: "+15005550006",
          Body: "Paid €12.50. Ref pay_1"
        })
      }
      expect(yield* fetchNotification(accepted.id)).toMatchObject({
        status: "sent",
        provider: "twilio",
        provider_message_id: "SM0001",
        attempts: 3,
        content: { text: "Paid €12.50. Ref pay_1", sms: { encoding: "GSM-7", segments: 1 } }
      })
    })
  )

  it.effect("a permanent Twilio error fails the notification after one call", () =>
    Effect.gen(function* () {
      const { twilio } = yield* Fakes
      const accepted = yield* sendSms(uniqueUserId())
      const before = twilio.requests.length
      twilio.respond({ status: 400, body: { code: 21211, message: "The 'To' number is not a valid phone number." } })
      expect(yield* dispatch(accepted.id)).toBe("failed")
      expect(twilio.requests.length - before).toBe(1)
      const failed = yield* fetchNotification(accepted.id)
      expect(failed).toMatchObject({
        status: "failed",
        status_reason: "invalid_recipient",
        attempts: 1,
        provider: "twilio"
      })
      expect(failed.error_message).toContain("not a valid phone number")
      const event = (yield* events(accepted.id)).find((e) => e.event_type === "notification.failed")
      expect(event?.payload).toMatchObject({ attempts: 1, retryable: false, error: { code: "invalid_recipient" } })
    })
  )

  it.effect("retryable failures that outlast the retries put the notification back in the queue", () =>
    Effect.gen(function* () {
      const { twilio } = yield* Fakes
      const accepted = yield* sendSms(uniqueUserId())
      twilio.respond({ status: 503 }, { status: 503 }, { status: 503 })
      expect(yield* dispatch(accepted.id)).toBe("requeued")
      const requeued = yield* fetchNotification(accepted.id)
      expect(requeued).toMatchObject({ status: "pending", attempts: 3, provider: "twilio" })
      expect(requeued.status_reason).toMatch(/^server_error: /)
      // Not due again before DELIVERY_REQUEUE_DELAY: a second dispatcher finds nothing to do.
      expect(yield* dispatch(accepted.id)).toBe("skipped")
      const due = yield* query<{ due_at: Date }>("SELECT due_at FROM notifications WHERE id = $1", [accepted.id])
      expect(due[0]?.due_at.getTime()).toBeGreaterThan(Date.now() + 59 * 60_000)
    })
  )

  it.effect("push through FCM; an unregistered token fails the notification for good", () =>
    Effect.gen(function* () {
      const { fcm } = yield* Fakes
      const template = yield* createTemplate({
        type: "push",
        subject: "Payment",
        body: "{{ amount }} received",
        variables: [{ name: "amount" }]
      })
      const first = yield* send({
        user_id: uniqueUserId(),
        template_id: template.id,
        variables: { amount: "€5" },
        recipient: { device_token: "token-ok" }
      })
      fcm.respond({ status: 200, body: { name: "projects/bambu/messages/42" } })
      expect(yield* dispatch(first.body.id)).toBe("sent")
      const request = fcm.requests.at(-1)
      expect(request?.url).toBe("/v1/projects/bambu/messages:send")
      expect(request?.headers.authorization).toBe("Bearer ya29.test-token")
      expect(JSON.parse(request?.body ?? "{}")).toMatchObject({
        message: { token: "token-ok", notification: { title: "Payment", body: "€5 received" } }
      })
      expect(yield* fetchNotification(first.body.id)).toMatchObject({
        provider: "fcm",
        provider_message_id: "projects/bambu/messages/42"
      })

      const second = yield* send({
        user_id: uniqueUserId(),
        template_id: template.id,
        variables: { amount: "€6" },
        recipient: { device_token: "token-gone" }
      })
      fcm.respond({
        status: 404,
        body: {
          error: {
            code: 404,
            message: "Requested entity was not found.",
            status: "NOT_FOUND",
            details: [{ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", errorCode: "UNREGISTERED" }]
          }
        }
      })
      expect(yield* dispatch(second.body.id)).toBe("failed")
      expect(yield* fetchNotification(second.body.id)).toMatchObject({
        status: "failed",
        status_reason: "invalid_token",
        attempts: 1
      })
    })
  )

  it.effect("a disabled channel suppresses, even for high priority; nothing reaches the provider", () =>
    Effect.gen(function* () {
      const { twilio } = yield* Fakes
      const userId = uniqueUserId()
      yield* putPreferences(userId, { sms_enabled: false })
      const before = twilio.requests.length
      const accepted = yield* sendSms(userId, { priority: "high" })
      expect(accepted.status).toBe("suppressed")
      expect(accepted.status_reason).toBe("The user has turned off sms notifications.")
      expect(yield* dispatch(accepted.id)).toBe("skipped")
      expect(twilio.requests.length).toBe(before)
      expect((yield* events(accepted.id)).map((e) => e.event_type)).toEqual(["notification.suppressed"])
    })
  )

  it.effect("preferences are checked again at dispatch", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      const accepted = yield* sendSms(userId)
      expect(accepted.status).toBe("pending")
      yield* putPreferences(userId, { sms_enabled: false })
      expect(yield* dispatch(accepted.id)).toBe("suppressed")
      expect(yield* fetchNotification(accepted.id)).toMatchObject({ status: "suppressed" })
    })
  )

  it.effect("quiet hours defer a normal notification to their end; high priority goes out at once", () =>
    Effect.gen(function* () {
      const { twilio } = yield* Fakes
      const userId = uniqueUserId()
      const now = Date.now()
      const end = new Date(now + 60 * 60_000)
      yield* putPreferences(userId, {
        quiet_hours_start: hhmm(new Date(now - 60 * 60_000)),
        quiet_hours_end: hhmm(end),
        timezone: "UTC"
      })
      const normal = yield* sendSms(userId)
      expect(normal.status).toBe("scheduled")
      expect(normal.status_reason).toMatch(/^Quiet hours/)
      const until = DateTime.unsafeMake(normal.scheduled_at as unknown as string).epochMillis
      expect(until).toBe(Date.parse(`${end.toISOString().slice(0, 16)}:00.000Z`))
      expect(yield* dispatch(normal.id)).toBe("skipped")

      const high = yield* sendSms(userId, { priority: "high" })
      expect(high.status).toBe("pending")
      twilio.respond({ status: 201, body: { sid: "SM-high" } })
      expect(yield* dispatch(high.id)).toBe("sent")
    })
  )

  it.effect("scheduled_at in the future is kept until due", () =>
    Effect.gen(function* () {
      const at = new Date(Date.now() + 60 * 60_000).toISOString()
      const accepted = yield* sendSms(uniqueUserId(), { scheduled_at: at })
      expect(accepted.status).toBe("scheduled")
      expect(DateTime.unsafeMake(accepted.scheduled_at as unknown as string).epochMillis).toBe(Date.parse(at))
      expect(yield* dispatch(accepted.id)).toBe("skipped")
      expect((yield* events(accepted.id)).map((e) => e.event_type)).toEqual(["notification.scheduled"])
    })
  )

  it.effect("concurrent dispatchers send a notification once", () =>
    Effect.gen(function* () {
      const { twilio } = yield* Fakes
      const accepted = yield* sendSms(uniqueUserId())
      const before = twilio.requests.length
      twilio.respond({ status: 201, body: { sid: "SM-once" } })
      const outcomes = yield* Effect.all(
        Array.from({ length: 5 }, () => dispatch(accepted.id)),
        { concurrency: "unbounded" }
      )
      expect(outcomes.filter((o) => o === "sent")).toHaveLength(1)
      expect(outcomes.filter((o) => o === "skipped")).toHaveLength(4)
      expect(twilio.requests.length - before).toBe(1)
    })
  )

  it.effect("without a recipient address the notification fails with no_recipient", () =>
    Effect.gen(function* () {
      const template = yield* smsTemplate
      const accepted = yield* send({
        user_id: uniqueUserId(),
        template_id: template.id,
        variables: { amount: "1", ref: "r" }
      })
      expect(yield* dispatch(accepted.body.id)).toBe("failed")
      expect(yield* fetchNotification(accepted.body.id)).toMatchObject({ status_reason: "no_recipient", attempts: 0 })
    })
  )

  it.effect("send refuses what delivery would refuse: wrong recipient field, SMS over the segment limit", () =>
    Effect.gen(function* () {
      const template = yield* smsTemplate
      const wrongRecipient = yield* send({
        user_id: uniqueUserId(),
        template_id: template.id,
        variables: { amount: "1", ref: "r" },
        recipient: { email: "ada@example.com" }
      })
      expect(wrongRecipient.status).toBe(422)
      expect(wrongRecipient.body).toMatchObject({ errors: [{ path: "recipient.phone" }] })

      const tooLong = yield* send({
        user_id: uniqueUserId(),
        template_id: template.id,
        variables: { amount: "1", ref: "x".repeat(400) },
        recipient: { phone: "+447700900123" }
      })
      expect(tooLong.status).toBe(422)
      expect(tooLong.body.detail).toMatch(/takes 3 segments \(GSM-7, \d+ characters\); at most 2 are allowed/)
    })
  )

  it.effect("/metrics exposes the delivery series, and promtool accepts the exposition", () =>
    Effect.gen(function* () {
      // Something pending, so the queue gauge has a value to show.
      yield* sendSms(uniqueUserId())
      const response = yield* raw("/metrics")
      expect(response.status).toBe(200)
      const text = String(response.body)
      expect(text).toContain("# TYPE notification_sent_total counter")
      expect(text).toMatch(/notification_sent_total\{[^}]*type="sms"[^}]*status="sent"[^}]*\} [1-9]/)
      expect(text).toMatch(/notification_sent_total\{[^}]*status="failed"[^}]*\} [1-9]/)
      expect(text).toMatch(/notification_sent_total\{[^}]*type="sms"[^}]*status="suppressed"[^}]*\} [1-9]/)
      expect(text).toContain("# TYPE notification_sent_duration_seconds summary")
      for (const quantile of ["0.5", "0.9", "0.99"]) {
        expect(text).toMatch(new RegExp(`notification_sent_duration_seconds\\{[^}]*quantile="${quantile}"[^}]*\\} `))
      }
      expect(text).toMatch(/notification_sent_duration_seconds_count\{type="email"\} [1-9]/)
      expect(text).toMatch(/notification_queue_size\{queue="pending"\} [1-9]/)
      expect(text).toMatch(/notification_queue_size\{queue="scheduled"\} [1-9]/)
      expect(text).toMatch(/notification_error_rate\{[^}]*type="sms"[^}]*error="server_error"[^}]*\} 0\.\d+/)
      expect(text).toMatch(/circuit_breaker_state\{name="email:sendgrid"\} 0/)
      expect(text).toMatch(/bulkhead_max_concurrent_calls\{name="sms"\} 20/)
      expect(text).toMatch(/bulkhead_in_use\{name="sms"\} 0/)

      const promtool = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" })
      if (promtool.error !== undefined) {
        // CI installs Debian's `prometheus` package; elsewhere the check needs promtool on PATH.
        expect(process.env.CI_REQUIRE_PROMTOOL, "promtool is required in CI").toBeUndefined()
        return
      }
      expect(`${promtool.stdout}${promtool.stderr}`.trim()).toBe("")
      expect(promtool.status).toBe(0)
    })
  )
})
