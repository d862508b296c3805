import { expect } from "@effect/vitest"
import type { UserId } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { client, json, keys, raw, uniqueUserId, withServer } from "./support/server.js"

withServer()("preferences", (it) => {
  it.effect("answers the defaults for a user who never stored any", () =>
    Effect.gen(function* () {
      const api = yield* client()
      const userId = uniqueUserId() as UserId
      const preferences = yield* api.preferences.get({ path: { user_id: userId } })
      expect(preferences).toMatchObject({
        user_id: userId,
        email_enabled: true,
        sms_enabled: true,
        push_enabled: true,
        quiet_hours_start: null,
        quiet_hours_end: null,
        timezone: "UTC",
        updated_at: null
      })
    })
  )

  it.effect("stores, replaces and reads preferences (PUT replaces the whole resource)", () =>
    Effect.gen(function* () {
      const api = yield* client()
      const userId = uniqueUserId() as UserId
      const stored = yield* api.preferences.put({
        path: { user_id: userId },
        payload: {
          sms_enabled: false,
          quiet_hours_start: "22:00",
          quiet_hours_end: "07:00",
          timezone: "Europe/London"
        }
      })
      expect(stored).toMatchObject({
        email_enabled: true,
        sms_enabled: false,
        quiet_hours_start: "22:00",
        quiet_hours_end: "07:00",
        timezone: "Europe/London"
      })
      expect(stored.updated_at).not.toBeNull()
      const read = yield* api.preferences.get({ path: { user_id: userId } })
      expect(read).toEqual(stored)

      const replaced = yield* api.preferences.put({ path: { user_id: userId }, payload: { push_enabled: false } })
      expect(replaced).toMatchObject({
        sms_enabled: true,
        push_enabled: false,
        quiet_hours_start: null,
        timezone: "UTC"
      })
    })
  )

  it.effect("validates quiet hours, time zones and booleans with 400 field errors", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ quiet_hours_start: "22:00" }, "quiet_hours_end"],
        [{ quiet_hours_start: "22:00", quiet_hours_end: "22:00" }, "quiet_hours_end"],
        [{ quiet_hours_start: "24:00", quiet_hours_end: "07:00" }, "quiet_hours_start"],
        [{ quiet_hours_start: "7:00", quiet_hours_end: "08:00" }, "quiet_hours_start"],
        [{ timezone: "Mars/Olympus" }, "timezone"],
        [{ timezone: "../etc" }, "timezone"],
        [{ email_enabled: "yes" }, "email_enabled"]
      ]
      for (const [body, path] of cases) {
        const response = yield* raw(`/api/v1/preferences/user/${userId}`, json("PUT", body))
        expect(response.status, JSON.stringify(body)).toBe(400)
        expect((response.body as { errors: Array<{ path: string }> }).errors.map((e) => e.path)).toContain(path)
      }
      const api = yield* client()
      const untouched = yield* api.preferences.get({ path: { user_id: userId as UserId } })
      expect(untouched.updated_at).toBeNull()
    })
  )

  it.effect("needs preferences scopes", () =>
    Effect.gen(function* () {
      const reader = yield* client(keys.reader)
      yield* reader.preferences.get({ path: { user_id: 7 as UserId } })
      const denied = yield* raw("/api/v1/preferences/user/7", json("PUT", {}, keys.reader))
      expect(denied.status).toBe(403)
      const anonymous = yield* raw("/api/v1/preferences/user/7")
      expect(anonymous.status).toBe(401)
    })
  )
})
