import { expect } from "@effect/vitest"
import { requestHash } from "@notification-service/core"
import * as Effect from "effect/Effect"
import { authorized, client, keys, query, raw, unique, uniqueUserId, withServer } from "./support/server.js"

const sendWithKey = (key: string, body: unknown, apiKey: string = keys.admin) =>
  raw("/api/v1/notifications/send", {
    method: "POST",
    headers: authorized(apiKey, { "content-type": "application/json", "idempotency-key": key }),
    body: JSON.stringify(body)
  })

const template = Effect.gen(function* () {
  const api = yield* client()
  return yield* api.templates.create({
    payload: { name: unique("idem"), type: "sms", body: "Code {code}", variables: [{ name: "code" }] }
  })
})

withServer({ IDEMPOTENCY_PURGE_INTERVAL: "200 millis" })("idempotent send", (it) => {
  it.effect("the same key and body replays the first answer; no second notification", () =>
    Effect.gen(function* () {
      const { id: templateId } = yield* template
      const userId = uniqueUserId()
      const key = unique("key")
      const body = { user_id: userId, template_id: templateId, variables: { code: "123456" } }
      const first = yield* sendWithKey(key, body)
      expect(first.status).toBe(202)
      expect(first.headers.get("idempotent-replayed")).toBeNull()
      // Same request, keys in another order: still the same request.
      const again = yield* sendWithKey(key, { variables: { code: "123456" }, template_id: templateId, user_id: userId })
      expect(again.status).toBe(202)
      expect(again.headers.get("idempotent-replayed")).toBe("true")
      expect(again.body).toEqual(first.body)
      expect(again.headers.get("location")).toBe(first.headers.get("location"))
      const rows = yield* query<{ count: string }>("SELECT count(*) FROM notifications WHERE user_id = $1", [userId])
      expect(rows[0]?.count).toBe("1")
    })
  )

  it.effect("concurrent repeats of one request create exactly one notification", () =>
    Effect.gen(function* () {
      const { id: templateId } = yield* template
      const userId = uniqueUserId()
      const key = unique("key")
      const body = { user_id: userId, template_id: templateId, variables: { code: "7" } }
      const responses = yield* Effect.all(
        Array.from({ length: 8 }, () => sendWithKey(key, body)),
        { concurrency: "unbounded" }
      )
      expect(responses.every((r) => r.status === 202 || r.status === 409)).toBe(true)
      const accepted = responses.filter((r) => r.status === 202).map((r) => (r.body as { id: string }).id)
      expect(new Set(accepted).size).toBe(1)
      const rows = yield* query<{ count: string }>("SELECT count(*) FROM notifications WHERE user_id = $1", [userId])
      expect(rows[0]?.count).toBe("1")
    })
  )

  it.effect("the same key with another body is 422; keys are scoped per API key", () =>
    Effect.gen(function* () {
      const { id: templateId } = yield* template
      const key = unique("key")
      const body = { user_id: uniqueUserId(), template_id: templateId, variables: { code: "1" } }
      const first = yield* sendWithKey(key, body)
      expect(first.status).toBe(202)
      const other = yield* sendWithKey(key, { ...body, variables: { code: "2" } })
      expect(other.status).toBe(422)
      expect(other.body).toMatchObject({ errors: [{ path: "Idempotency-Key" }] })

      // Another client may use the same key for its own request.
      const otherClient = yield* sendWithKey(key, body, keys.writer)
      expect(otherClient.status).toBe(202)
      expect(otherClient.headers.get("idempotent-replayed")).toBeNull()
      expect((otherClient.body as { id: string }).id).not.toBe((first.body as { id: string }).id)
    })
  )

  it.effect("while the first request is in flight a repeat is 409; a stale claim is taken over", () =>
    Effect.gen(function* () {
      const { id: templateId } = yield* template
      const key = unique("key")
      const body = { user_id: uniqueUserId(), template_id: templateId, variables: { code: "9" } }
      const hash = requestHash(body)
      yield* query(
        `INSERT INTO idempotency_keys (api_key_id, key, request_hash, state, created_at, expires_at)
         VALUES ('admin', $1, $2, 'in_flight', now(), now() + interval '1 day')`,
        [key, hash]
      )
      const busy = yield* sendWithKey(key, body)
      expect(busy.status).toBe(409)
      expect(busy.body).toMatchObject({ type: "https://notification-service.dev/problems/conflict" })

      // The first request died long ago: its claim no longer blocks the key.
      yield* query("UPDATE idempotency_keys SET created_at = now() - interval '5 minutes' WHERE key = $1", [key])
      const retried = yield* sendWithKey(key, body)
      expect(retried.status).toBe(202)
      expect(retried.headers.get("idempotent-replayed")).toBeNull()
    })
  )

  it.effect("a failed request releases its key; expired keys start over and are purged", () =>
    Effect.gen(function* () {
      const key = unique("key")
      const missing = yield* sendWithKey(key, { user_id: 1, template_name: unique("nope") })
      expect(missing.status).toBe(404)
      const released = yield* query("SELECT 1 FROM idempotency_keys WHERE key = $1", [key])
      expect(released).toEqual([])

      const { id: templateId } = yield* template
      const body = { user_id: uniqueUserId(), template_id: templateId, variables: { code: "5" } }
      const first = (yield* sendWithKey(key, body)).body as { id: string }
      yield* query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [key])
      const fresh = yield* sendWithKey(key, body)
      expect(fresh.status).toBe(202)
      expect((fresh.body as { id: string }).id).not.toBe(first.id)

      const stale = unique("expired")
      yield* query(
        `INSERT INTO idempotency_keys (api_key_id, key, request_hash, state, created_at, expires_at)
         VALUES ('admin', $1, 'x', 'completed', now() - interval '2 days', now() - interval '1 day')`,
        [stale]
      )
      let remaining: ReadonlyArray<unknown> = [1]
      for (let i = 0; i < 50 && remaining.length > 0; i++) {
        yield* Effect.sleep("100 millis")
        remaining = yield* query("SELECT 1 FROM idempotency_keys WHERE key = $1", [stale])
      }
      expect(remaining).toEqual([])
    })
  )
})
