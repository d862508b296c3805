import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, expect } from "@effect/vitest"
import type { NotificationId } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { client, json, raw, testServer, unique, withServerLayer } from "./support/server.js"

// The loop takes every due notification in its database, so it gets a database of its own.
const dataDir = mkdtempSync(join(tmpdir(), "ns-dispatch-loop-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const server = testServer({ DISPATCHER_ENABLED: "true", DISPATCHER_POLL_INTERVAL: "200 millis" }, { dataDir })

const statusOf = (id: string) =>
  Effect.flatMap(client(), (api) => api.notifications.get({ path: { id: id as NotificationId } }))

const eventually = (id: string, status: string) =>
  statusOf(id).pipe(
    Effect.filterOrFail(
      (n) => n.status === status,
      (n) => new Error(`still ${n.status}`)
    ),
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("15 seconds")))
  )

withServerLayer(server)("in-process dispatch loop", (it) => {
  it.effect("delivers accepted notifications without being asked, and scheduled ones when due", () =>
    Effect.gen(function* () {
      const template = yield* raw(
        "/api/v1/templates",
        json("POST", { name: unique("loop"), type: "sms", body: "Code {{ code }}", variables: [{ name: "code" }] })
      )
      expect(template.status).toBe(201)
      const templateId = (template.body as { id: string }).id
      const send = (extra: Record<string, unknown>) =>
        raw(
          "/api/v1/notifications/send",
          json("POST", {
            user_id: 7,
            template_id: templateId,
            variables: { code: "123456" },
            recipient: { phone: "+447700900123" },
            ...extra
          })
        ).pipe(Effect.map((response) => response.body as { id: string; status: string }))

      const now = yield* send({})
      const later = yield* send({ scheduled_at: new Date(Date.now() + 1_000).toISOString() })
      expect(later.status).toBe("scheduled")

      const sent = yield* eventually(now.id, "sent")
      expect(sent).toMatchObject({ provider: "log", attempts: 1, content: { text: "Code 123456" } })
      const sentLater = yield* eventually(later.id, "sent")
      expect(sentLater.sent_at?.epochMillis ?? 0).toBeGreaterThanOrEqual(
        sentLater.scheduled_at?.epochMillis ?? Infinity
      )
    })
  )

  it.effect("a notification without a recipient address fails instead of blocking the queue", () =>
    Effect.gen(function* () {
      const template = yield* raw(
        "/api/v1/templates",
        json("POST", { name: unique("loop"), type: "push", body: "Hello" })
      )
      const accepted = yield* raw(
        "/api/v1/notifications/send",
        json("POST", { user_id: 8, template_id: (template.body as { id: string }).id })
      )
      const failed = yield* eventually((accepted.body as { id: string }).id, "failed")
      expect(failed.status_reason).toBe("no_recipient")
    })
  )
})
