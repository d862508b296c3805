import { expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { apiKeysConfig, authorized, keys, query, raw, unique, uniqueUserId, withServer } from "./support/server.js"

/** The internal API the bridge writes through: `/internal/v1/legacy`, scope `migration:write`. */
const bridgeKey = "test-bridge-key-0123456789"

// Legacy ids are unique service-wide: each run takes its own block of them.
let next = 1_000_000_000 + Math.floor(Math.random() * 900_000_000)
const legacyId = () => next++

const put = (path: string, body: unknown, change: string, key = bridgeKey) =>
  raw(`/internal/v1/legacy/${path}`, {
    method: "PUT",
    headers: authorized(key, { "content-type": "application/json", "idempotency-key": change }),
    body: JSON.stringify(body)
  })

const remove = (path: string, change: string) =>
  raw(`/internal/v1/legacy/${path}`, {
    method: "DELETE",
    headers: authorized(bridgeKey, { "idempotency-key": change })
  })

const template = (id: number, name: string, body: string, position: number) => ({
  legacy_id: id,
  name,
  type: "email",
  subject: "Hi {name}",
  body,
  variables: [{ name: "name", required: false }],
  created_at: "2024-03-31T00:30:00.123456Z",
  updated_at: "2024-03-31T00:30:00.123456Z",
  legacy_position: position
})

withServer({ API_KEYS: `${apiKeysConfig()};bridge:${bridgeKey}:migration:write` })("internal legacy API", (it) => {
  it.effect("needs migration:write, which '*' does not grant; the body must name the path's row", () =>
    Effect.gen(function* () {
      const id = legacyId()
      const row = template(id, unique("scoped"), "Hello", 1)
      const denied = yield* put(`templates/${id}`, row, unique("change"), keys.admin)
      expect(denied.status).toBe(403)
      expect(denied.body).toMatchObject({ required_scope: "migration:write" })
      const mismatched = yield* put(`templates/${id + 1}`, row, unique("change"))
      expect(mismatched.status).toBe(422)
      const unkeyed = yield* raw(`/internal/v1/legacy/templates/${id}`, {
        method: "PUT",
        headers: authorized(bridgeKey, { "content-type": "application/json" }),
        body: JSON.stringify(row)
      })
      expect(unkeyed.status).toBe(400)
      expect(yield* query("SELECT 1 FROM templates WHERE legacy_id = $1", [id])).toEqual([])
    })
  )

  it.effect("a change applies once per Idempotency-Key; an older position never overwrites a newer one", () =>
    Effect.gen(function* () {
      const id = legacyId()
      const name = unique("legacy_tpl")
      const first = yield* put(`templates/${id}`, template(id, name, "Hello {name}", 10), "change-a")
      expect(first).toMatchObject({ status: 200, body: { legacy_id: id, outcome: "inserted" } })
      // The same change again (a bridge restarted before its checkpoint): the first answer, no write.
      expect((yield* put(`templates/${id}`, template(id, name, "Hello {name}", 10), "change-a")).body).toEqual(
        first.body
      )
      // The same key for another body is a client bug: refused.
      expect((yield* put(`templates/${id}`, template(id, name, "Other", 10), "change-a")).status).toBe(422)
      // A backfill batch read before change 10 arrives late: ignored.
      const stale = yield* put(`templates/${id}`, template(id, name, "Stale {name}", 7), unique("change"))
      expect(stale.body).toMatchObject({ outcome: "unchanged" })
      // A newer change that leaves the content as it is still moves the position (no new version).
      const same = yield* put(`templates/${id}`, template(id, name, "Hello {name}", 12), unique("change"))
      expect(same.body).toMatchObject({ outcome: "updated" })
      const newer = yield* put(`templates/${id}`, template(id, name, "Bye {name}", 13), unique("change"))
      expect(newer.body).toMatchObject({ outcome: "updated" })
      // Between 12 and 13: too old now.
      const late = yield* put(`templates/${id}`, template(id, name, "Hello {name}", 12), unique("change"))
      expect(late.body).toMatchObject({ outcome: "unchanged" })
      const [row] = yield* query<{ body: string; version: number; legacy_position: string; syntax: string }>(
        "SELECT body, version, legacy_position, syntax FROM templates WHERE legacy_id = $1",
        [id]
      )
      expect(row).toEqual({ body: "Bye {name}", version: 2, legacy_position: "13", syntax: "legacy" })
      // Deleted in the monolith at change 20; a stale upsert cannot bring it back.
      const deleted = yield* remove(`templates/${id}?position=20`, unique("change"))
      expect(deleted.body).toMatchObject({ outcome: "deleted" })
      const revived = yield* put(`templates/${id}`, template(id, name, "Bye {name}", 15), unique("change"))
      expect(revived.body).toMatchObject({ outcome: "unchanged" })
      const [gone] = yield* query<{ deleted: boolean }>(
        "SELECT deleted_at IS NOT NULL AS deleted FROM templates WHERE legacy_id = $1",
        [id]
      )
      expect(gone?.deleted).toBe(true)
    })
  )

  it.effect("a name taken by a service template is 409; a log waits for its template; logs carry legacy_id", () =>
    Effect.gen(function* () {
      const taken = unique("taken")
      const created = yield* raw("/api/v1/templates", {
        method: "POST",
        headers: authorized(keys.admin, { "content-type": "application/json" }),
        body: JSON.stringify({ name: taken, type: "sms", body: "hi", syntax: "liquid" })
      })
      expect(created.status).toBe(201)
      const clash = legacyId()
      const refused = yield* put(`templates/${clash}`, template(clash, taken, "x", 1), unique("change"))
      expect(refused.status).toBe(409)

      const templateId = legacyId()
      const logId = legacyId()
      const userId = uniqueUserId()
      const log = {
        legacy_id: logId,
        user_id: userId,
        template_legacy_id: templateId,
        channel: "email",
        status: "sent",
        status_reason: null,
        sent_at: "2024-10-27T01:30:00.000001Z",
        error_message: null,
        metadata: { amount: "12.50" },
        legacy_position: 3
      }
      // The bridge retries with the same change (the same key) once it has copied the template.
      const change = unique("change")
      const early = yield* put(`notifications/${logId}`, log, change)
      expect(early.status).toBe(409)
      expect(JSON.stringify(early.body)).toContain("template_missing")
      yield* put(`templates/${templateId}`, template(templateId, unique("tpl"), "Paid {name}", 2), unique("change"))
      expect((yield* put(`notifications/${logId}`, log, change)).body).toMatchObject({ outcome: "inserted" })
      const bounced = yield* put(`notifications/${logId}`, { ...log, status: "bounced", legacy_position: 4 }, "b")
      expect(bounced.body).toMatchObject({ outcome: "updated" })

      const listed = yield* raw(`/api/v1/notifications/user/${userId}`, { headers: authorized(keys.admin) })
      expect(listed.body).toMatchObject({
        data: [
          { legacy_id: logId, status: "bounced", sent_at: "2024-10-27T01:30:00.000Z", metadata: { amount: "12.50" } }
        ]
      })
      const events = yield* query<{ type: string }>(
        `SELECT e.type FROM notification_events e JOIN notifications n ON n.id = e.aggregate_id
         WHERE n.legacy_id = $1 ORDER BY e.version`,
        [logId]
      )
      expect(events.map((e) => e.type)).toEqual(["notification.imported", "notification.legacy_synced"])
    })
  )

  it.effect("logs sent within one millisecond page through the user's history without a gap", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      const ids = [legacyId(), legacyId(), legacyId()]
      for (const [i, id] of ids.entries()) {
        const log = {
          legacy_id: id,
          user_id: userId,
          template_legacy_id: null,
          channel: "sms",
          status: "sent",
          status_reason: null,
          sent_at: `2025-01-02T03:04:05.12345${i + 1}Z`,
          error_message: null,
          metadata: {},
          legacy_position: 1
        }
        expect((yield* put(`notifications/${id}`, log, unique("change"))).status).toBe(200)
      }
      const seen: Array<unknown> = []
      let cursor: string | null = null
      do {
        const page: { status: number; body: unknown } = yield* raw(
          `/api/v1/notifications/user/${userId}?limit=1${cursor === null ? "" : `&cursor=${cursor}`}`,
          { headers: authorized(keys.admin) }
        )
        const body = page.body as { data: Array<{ legacy_id: number }>; pagination: { next_cursor: string | null } }
        seen.push(...body.data.map((n) => n.legacy_id))
        cursor = body.pagination.next_cursor
      } while (cursor !== null)
      expect([...seen].sort()).toEqual([...ids].sort())
    })
  )

  it.effect("preferences: upserted by legacy id, deleted only by a newer change", () =>
    Effect.gen(function* () {
      const id = legacyId()
      const userId = uniqueUserId()
      const row = {
        legacy_id: id,
        user_id: userId,
        email_enabled: false,
        sms_enabled: true,
        push_enabled: true,
        quiet_hours_start: "22:00:00",
        quiet_hours_end: "07:00:00",
        timezone: "Europe/London",
        updated_at: "2024-06-01T12:00:00.000000Z",
        legacy_position: 5
      }
      expect((yield* put(`preferences/${id}`, row, unique("change"))).body).toMatchObject({ outcome: "inserted" })
      const read = yield* raw(`/api/v1/preferences/user/${userId}`, { headers: authorized(keys.admin) })
      expect(read.body).toMatchObject({ email_enabled: false, quiet_hours_start: "22:00", timezone: "Europe/London" })
      expect((yield* remove(`preferences/${id}?position=4`, unique("change"))).body).toMatchObject({
        outcome: "unchanged"
      })
      expect((yield* remove(`preferences/${id}?position=6`, unique("change"))).body).toMatchObject({
        outcome: "deleted"
      })
      const defaults = yield* raw(`/api/v1/preferences/user/${userId}`, { headers: authorized(keys.admin) })
      expect(defaults.body).toMatchObject({ email_enabled: true, updated_at: null })
    })
  )
})
