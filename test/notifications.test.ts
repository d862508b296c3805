import { describe, expect } from "@effect/vitest"
import type { NotificationId, Template, UserId } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import { client, json, keys, onPglite, query, raw, unique, uniqueUserId, withServer } from "./support/server.js"

const createTemplate = (type: "email" | "sms" | "push" = "email") =>
  Effect.gen(function* () {
    const api = yield* client()
    return yield* api.templates.create({
      payload: {
        name: unique(`tpl_${type}`),
        type,
        subject: type === "email" ? "Payment of {amount}" : null,
        body: "Hello {name}, {amount} received",
        variables: [{ name: "name" }, { name: "amount" }, { name: "note", required: false }]
      }
    })
  })

const send = (template: Template, userId: number, extra: Record<string, unknown> = {}) =>
  raw(
    "/api/v1/notifications/send",
    json("POST", {
      user_id: userId,
      template_id: template.id,
      variables: { name: "Ada", amount: "12.50" },
      ...extra
    })
  )

withServer()("notifications", (it) => {
  it.effect("accepts a send: 202, Location, pending, stored with an outbox event", () =>
    Effect.gen(function* () {
      const api = yield* client()
      const template = yield* createTemplate()
      const userId = uniqueUserId() as UserId
      const accepted = yield* api.notifications.send({
        payload: {
          user_id: userId,
          template_name: template.name,
          variables: { name: "Ada", amount: "12.50" },
          recipient: { email: "ada@example.com" },
          priority: "high",
          metadata: { payment_id: "pay_1" }
        },
        headers: {}
      })
      expect(accepted).toMatchObject({
        user_id: userId,
        template_id: template.id,
        template_version: 1,
        channel: "email",
        status: "pending",
        priority: "high",
        recipient: { email: "ada@example.com" },
        metadata: { payment_id: "pay_1" }
      })
      const fetched = yield* api.notifications.get({ path: { id: accepted.id } })
      expect(fetched).toEqual(accepted)

      const response = yield* send(template, userId)
      expect(response.status).toBe(202)
      const body = response.body as { id: string; status: string; priority: string }
      expect(response.headers.get("location")).toBe(`/api/v1/notifications/${body.id}`)
      expect(body.priority).toBe("normal")

      const events = yield* query<{ event_type: string; user_id: string; payload: { status: string } }>(
        "SELECT event_type, user_id, payload FROM outbox_events WHERE aggregate_id = $1",
        [accepted.id]
      )
      expect(events).toEqual([
        {
          event_type: "notification.accepted",
          user_id: String(userId),
          payload: expect.objectContaining({ status: "pending" })
        }
      ])
    })
  )

  it.effect("schedules a send with a future scheduled_at", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate("sms")
      const at = DateTime.formatIso(DateTime.unsafeMake(Date.now() + 3_600_000))
      const response = yield* send(template, uniqueUserId(), { scheduled_at: at })
      expect(response.status).toBe(202)
      expect(response.body).toMatchObject({ status: "scheduled", scheduled_at: at, channel: "sms" })
    })
  )

  it.effect("answers 404 for an unknown template, 422 for another channel or missing variables", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate("email")
      const unknownName = yield* raw(
        "/api/v1/notifications/send",
        json("POST", { user_id: 1, template_name: unique("missing") })
      )
      expect(unknownName.status).toBe(404)
      expect(unknownName.body).toMatchObject({ resource: "template" })

      const wrongChannel = yield* send(template, 1, { channel: "sms" })
      expect(wrongChannel.status).toBe(422)
      expect(wrongChannel.body).toMatchObject({
        type: "https://notification-service.dev/problems/unprocessable",
        errors: [{ path: "channel" }]
      })

      const missing = yield* send(template, 1, { variables: { name: "Ada", amount: null } })
      expect(missing.status).toBe(422)
      expect((missing.body as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toEqual([
        "variables.amount"
      ])

      const api = yield* client()
      const viaClient = yield* api.notifications
        .send({ payload: { user_id: 1 as UserId, template_id: template.id, variables: {} }, headers: {} })
        .pipe(Effect.flip)
      expect(viaClient._tag).toBe("Unprocessable")
    })
  )

  it.effect("rejects malformed sends with 400 and field errors", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate()
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ user_id: 0, template_id: template.id }, "user_id"],
        [{ user_id: 1.5, template_id: template.id }, "user_id"],
        [{ user_id: 1 }, "template_id"],
        [{ user_id: 1, template_id: template.id, template_name: template.name }, "template_id"],
        [{ user_id: 1, template_id: template.id, recipient: { phone: "0770" } }, "recipient.phone"],
        [{ user_id: 1, template_id: template.id, recipient: {} }, "recipient"],
        [{ user_id: 1, template_id: template.id, priority: "urgent" }, "priority"],
        [{ user_id: 1, template_id: template.id, scheduled_at: "tomorrow" }, "scheduled_at"],
        [{ user_id: 1, template_id: template.id, metadata: { blob: "x".repeat(9000) } }, "metadata"]
      ]
      for (const [body, path] of cases) {
        const response = yield* raw("/api/v1/notifications/send", json("POST", body))
        expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400)
        const errors = (response.body as { errors: Array<{ path: string }> }).errors
        expect(errors.map((e) => e.path)).toContain(path)
      }
      const badKey = yield* raw("/api/v1/notifications/send", {
        method: "POST",
        headers: {
          authorization: `Bearer ${keys.admin}`,
          "content-type": "application/json",
          "idempotency-key": "has space"
        },
        body: JSON.stringify({ user_id: 1, template_id: template.id, variables: { name: "a", amount: "b" } })
      })
      expect(badKey.status).toBe(400)
    })
  )

  it.effect("moves through the status table; illegal moves are 409 and change nothing", () =>
    Effect.gen(function* () {
      const api = yield* client()
      const template = yield* createTemplate()
      const accepted = (yield* send(template, uniqueUserId())).body as { id: NotificationId }
      const sending = yield* api.notifications.updateStatus({
        path: { id: accepted.id },
        payload: { status: "sending" }
      })
      expect(sending.status).toBe("sending")
      const sent = yield* api.notifications.updateStatus({
        path: { id: accepted.id },
        payload: { status: "sent", provider_message_id: "msg-1" }
      })
      expect(sent.sent_at).not.toBeNull()
      expect(sent.provider_message_id).toBe("msg-1")
      const delivered = yield* api.notifications.updateStatus({
        path: { id: accepted.id },
        payload: { status: "delivered" }
      })
      expect(delivered.delivered_at).not.toBeNull()
      expect(delivered.sent_at).toEqual(sent.sent_at)

      // Replayed callback: same status, no change.
      const replay = yield* api.notifications.updateStatus({
        path: { id: accepted.id },
        payload: { status: "delivered" }
      })
      expect(replay.updated_at).toEqual(delivered.updated_at)

      const backwards = yield* raw(`/api/v1/notifications/${accepted.id}/status`, json("PUT", { status: "pending" }))
      expect(backwards.status).toBe(409)
      expect(backwards.body).toMatchObject({
        type: "https://notification-service.dev/problems/invalid-status-transition",
        from: "delivered",
        to: "pending"
      })
      const after = yield* api.notifications.get({ path: { id: accepted.id } })
      expect(after.status).toBe("delivered")

      const failed = (yield* send(template, uniqueUserId())).body as { id: NotificationId }
      const failure = yield* api.notifications.updateStatus({
        path: { id: failed.id },
        payload: { status: "failed", error_message: "mailbox unavailable" }
      })
      expect(failure).toMatchObject({ status: "failed", error_message: "mailbox unavailable" })
      expect(failure.failed_at).not.toBeNull()
      const viaClient = yield* api.notifications
        .updateStatus({ path: { id: failed.id }, payload: { status: "sent" } })
        .pipe(Effect.flip)
      expect(viaClient._tag).toBe("InvalidTransition")

      const missing = yield* raw(
        "/api/v1/notifications/0192f1c2-7b7e-7cc3-9a51-3f1c2b9d4e10/status",
        json("PUT", { status: "sent" })
      )
      expect(missing.status).toBe(404)
      const badStatus = yield* raw(`/api/v1/notifications/${failed.id}/status`, json("PUT", { status: "gone" }))
      expect(badStatus.status).toBe(400)
    })
  )

  it.effect.skipIf(onPglite)("serializes concurrent status updates on one notification", () =>
    Effect.gen(function* () {
      const template = yield* createTemplate()
      const accepted = (yield* send(template, uniqueUserId())).body as { id: string }
      const results = yield* Effect.all(
        ["sent", "cancelled", "suppressed", "failed"].map((status) =>
          raw(`/api/v1/notifications/${accepted.id}/status`, json("PUT", { status }))
        ),
        { concurrency: "unbounded" }
      )
      // Each move is legal from pending, but most end in a terminal state. The event store's
      // optimistic concurrency serializes them (a stale writer re-reads and decides again): every
      // success is recorded with its event, every refusal is a clean 409.
      expect(results.every((r) => r.status === 200 || r.status === 409)).toBe(true)
      const succeeded = results.filter((r) => r.status === 200).map((r) => (r.body as { status: string }).status)
      expect(succeeded.length).toBeGreaterThanOrEqual(1)
      const api = yield* client()
      const final = yield* api.notifications.get({ path: { id: accepted.id as NotificationId } })
      expect(succeeded).toContain(final.status)
      const events = yield* query<{ event_type: string; payload: { status: string } }>(
        "SELECT event_type, payload FROM outbox_events WHERE aggregate_id = $1 ORDER BY seq",
        [accepted.id]
      )
      // Manual moves are `notification.status_changed` events naming the new status.
      expect(events.map((e) => e.event_type)).toEqual([
        "notification.accepted",
        ...succeeded.map(() => "notification.status_changed")
      ])
      expect(
        events
          .slice(1)
          .map((e) => e.payload.status)
          .sort()
      ).toEqual([...succeeded].sort())
      const stored = yield* query<{ version: number; type: string }>(
        "SELECT version, type FROM notification_events WHERE aggregate_id = $1 ORDER BY version",
        [accepted.id]
      )
      expect(stored.map((e) => e.version)).toEqual(stored.map((_, i) => i + 1))
      expect(stored.map((e) => e.type)).toEqual(events.map((e) => e.event_type))
    })
  )

  it.effect("lists a user's notifications newest first, paginated by cursor, with filters", () =>
    Effect.gen(function* () {
      const api = yield* client()
      const email = yield* createTemplate("email")
      const push = yield* createTemplate("push")
      const userId = uniqueUserId() as UserId
      const ids: Array<string> = []
      for (let i = 0; i < 5; i++) {
        const response = yield* send(i === 4 ? push : email, userId)
        ids.push((response.body as { id: string }).id)
        yield* Effect.sleep("3 millis")
      }
      const newestFirst = [...ids].reverse()
      const seen: Array<string> = []
      let cursor: string | undefined
      do {
        const page = yield* api.notifications.listForUser({
          path: { user_id: userId },
          urlParams: { limit: 2, ...(cursor === undefined ? {} : { cursor }) }
        })
        seen.push(...page.data.map((n) => n.id))
        cursor = page.pagination.next_cursor ?? undefined
      } while (cursor !== undefined)
      expect(seen).toEqual(newestFirst)

      const pushOnly = yield* api.notifications.listForUser({
        path: { user_id: userId },
        urlParams: { channel: "push" }
      })
      expect(pushOnly.data.map((n) => n.id)).toEqual([ids[4]])

      yield* api.notifications.updateStatus({
        path: { id: ids[0] as NotificationId },
        payload: { status: "cancelled" }
      })
      const cancelled = yield* api.notifications.listForUser({
        path: { user_id: userId },
        urlParams: { status: "cancelled" }
      })
      expect(cancelled.data.map((n) => n.id)).toEqual([ids[0]])

      const future = yield* api.notifications.listForUser({
        path: { user_id: userId },
        urlParams: { from: DateTime.unsafeMake(Date.now() + 60_000) }
      })
      expect(future.data).toEqual([])
      const past = yield* api.notifications.listForUser({
        path: { user_id: userId },
        urlParams: { to: DateTime.unsafeMake(Date.now() + 60_000), limit: 100 }
      })
      expect(past.data).toHaveLength(5)

      const inverted = yield* raw(
        `/api/v1/notifications/user/${userId}?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`,
        json("GET", undefined)
      )
      expect(inverted.status).toBe(400)
      const notAUser = yield* raw("/api/v1/notifications/user/-3", json("GET", undefined))
      expect(notAUser.status).toBe(400)
      const empty = yield* api.notifications.listForUser({ path: { user_id: uniqueUserId() as UserId }, urlParams: {} })
      expect(empty).toEqual({ data: [], pagination: { limit: 50, has_more: false, next_cursor: null } })
    })
  )
})

describe("notification scopes", () => {
  withServer()((it) => {
    it.effect("a read-only key can read but not send (403)", () =>
      Effect.gen(function* () {
        const template = yield* createTemplate()
        const denied = yield* raw(
          "/api/v1/notifications/send",
          json("POST", { user_id: 1, template_id: template.id, variables: { name: "a", amount: "b" } }, keys.reader)
        )
        expect(denied.status).toBe(403)
        expect(denied.body).toMatchObject({ required_scope: "notifications:write" })
        const reader = yield* client(keys.reader)
        const page = yield* reader.notifications.listForUser({ path: { user_id: 1 as UserId }, urlParams: {} })
        expect(page.pagination.limit).toBe(50)
      })
    )
  })
})
