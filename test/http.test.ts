import { describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { authorized, json, keys, raw, withServer } from "./support/server.js"

/** A body sent exactly as given, with the admin key. */
const rawBody = (method: string, path: string, contentType: string, body: string | undefined) =>
  raw(path, {
    method,
    headers: authorized(keys.admin, { "content-type": contentType }),
    ...(body === undefined ? {} : { body })
  })

withServer({ MAX_BODY_BYTES: "2048" })("HTTP surface", (it) => {
  it.effect("401 with a WWW-Authenticate challenge, without and with a bad key", () =>
    Effect.gen(function* () {
      const anonymous = yield* raw("/api/v1/templates")
      expect(anonymous.status).toBe(401)
      expect(anonymous.headers.get("www-authenticate")).toBe('Bearer realm="notification-service"')
      expect(anonymous.headers.get("content-type")).toBe("application/problem+json")
      expect(anonymous.body).toMatchObject({
        type: "https://notification-service.dev/problems/unauthorized",
        title: "Unauthorized",
        status: 401,
        instance: "/api/v1/templates"
      })
      const wrong = yield* raw("/api/v1/templates", { headers: { authorization: "Bearer not-a-key" } })
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"')
      const basic = yield* raw("/api/v1/templates", { headers: { authorization: `Basic ${keys.admin}` } })
      expect(basic.status).toBe(401)
    })
  )

  it.effect("415 for bodies that are not JSON, 400 for malformed JSON, 413 over the size cap", () =>
    Effect.gen(function* () {
      const form = yield* rawBody("POST", "/api/v1/templates", "text/plain", "name=x")
      expect(form.status).toBe(415)
      expect(form.body).toMatchObject({ type: "https://notification-service.dev/problems/unsupported-media-type" })

      const none = yield* raw("/api/v1/templates", { method: "POST", headers: authorized() })
      expect(none.status).toBe(415)

      const malformed = yield* rawBody("POST", "/api/v1/templates", "application/json", '{"name": ')
      expect(malformed.status).toBe(400)
      expect(malformed.body).toMatchObject({ detail: "The request body is not valid JSON." })

      const proto = yield* rawBody(
        "PUT",
        "/api/v1/preferences/user/5",
        "application/json",
        '{"timezone": "UTC", "__proto__": {"sms_enabled": false}}'
      )
      expect(proto.status).toBe(400)
      expect(proto.body).toMatchObject({ detail: "Keys named __proto__ are not accepted." })

      const empty = yield* rawBody("POST", "/api/v1/templates", "application/json; charset=utf-8", undefined)
      expect(empty.status).toBe(400)

      const large = yield* raw("/api/v1/templates", json("POST", { name: "big", type: "sms", body: "x".repeat(4096) }))
      expect(large.status).toBe(413)
      expect(large.body).toMatchObject({ type: "https://notification-service.dev/problems/payload-too-large" })

      // Chunked upload: no Content-Length to check up front, the read itself is capped.
      const chunks = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024)))
          controller.close()
        }
      })
      const streamed = yield* raw("/api/v1/templates", {
        method: "POST",
        headers: authorized(keys.admin, { "content-type": "application/json" }),
        body: chunks,
        duplex: "half"
      } as RequestInit)
      expect(streamed.status).toBe(413)
    })
  )

  it.effect("404 problem for unknown routes and methods", () =>
    Effect.gen(function* () {
      const unknown = yield* raw("/api/v1/nothing-here", { headers: authorized() })
      expect(unknown.status).toBe(404)
      expect(unknown.body).toMatchObject({ resource: "route", instance: "/api/v1/nothing-here" })
      const outside = yield* raw("/nothing")
      expect(outside.status).toBe(404)
      expect(outside.headers.get("content-type")).toBe("application/problem+json")
      const method = yield* raw("/api/v1/templates", {
        method: "PATCH",
        headers: authorized(keys.admin, { "content-type": "application/json" }),
        body: "{}"
      })
      expect(method.status).toBe(404)
    })
  )

  it.effect("accepts a valid X-Request-Id and echoes it; generates one otherwise", () =>
    Effect.gen(function* () {
      const given = yield* raw("/health/live", { headers: { "x-request-id": "req-123.abc" } })
      expect(given.headers.get("x-request-id")).toBe("req-123.abc")
      const generated = yield* raw("/health/live")
      expect(generated.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/)
      const hostile = yield* raw("/health/live", { headers: { "x-request-id": "a b\tc" } })
      expect(hostile.headers.get("x-request-id")).not.toBe("a b\tc")
    })
  )

  it.effect("every /api response carries RateLimit headers; probes do not", () =>
    Effect.gen(function* () {
      for (const response of [
        yield* raw("/api/v1/templates", { headers: authorized() }),
        yield* raw("/api/v1/templates"),
        yield* raw("/api/v1/nothing", { headers: authorized() })
      ]) {
        expect(response.headers.get("ratelimit-limit")).toBe("600")
        expect(Number(response.headers.get("ratelimit-remaining"))).toBeLessThan(600)
        expect(response.headers.get("ratelimit-reset")).toMatch(/^\d+$/)
        expect(response.headers.get("ratelimit-policy")).toBe('"default";q=600;w=60')
        expect(response.headers.get("ratelimit")).toMatch(/^"default";r=\d+;t=\d+$/)
      }
      const probe = yield* raw("/health/live")
      expect(probe.headers.get("ratelimit-limit")).toBeNull()
    })
  )

  it.effect("serves probes, the OpenAPI document, Swagger UI and Prometheus metrics without auth", () =>
    Effect.gen(function* () {
      const live = yield* raw("/health/live")
      expect(live.status).toBe(200)
      const ready = yield* raw("/health/ready")
      expect(ready).toMatchObject({
        status: 200,
        body: { status: "pass", checks: { database: { status: "pass" }, shutdown: { status: "pass" } } }
      })
      const startup = yield* raw("/health/startup")
      expect(startup.status).toBe(200)

      const spec = yield* raw("/openapi.json")
      expect(spec.status).toBe(200)
      expect(spec.body).toMatchObject({ openapi: "3.1.0", info: { title: "notification-service" } })
      expect(JSON.stringify(spec.body)).not.toContain("HttpApiDecodeError")

      const docs = yield* raw("/docs")
      expect(docs.status).toBe(200)
      expect(String(docs.body)).toContain("swagger-ui")

      yield* raw("/api/v1/templates", { headers: authorized() })
      const metrics = yield* raw("/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.headers.get("content-type")).toContain("text/plain")
      const text = String(metrics.body)
      expect(text).toMatch(/http_requests_total\{[^}]*route="\/api\/v1\/templates"[^}]*status="200"[^}]*\} \d+/)
      expect(text).toContain("http_request_duration_seconds_bucket")
    })
  )
})

describe("rate limiting", () => {
  withServer({ RATE_LIMIT_REQUESTS: "3", RATE_LIMIT_WINDOW: "1 hour" })((it) => {
    it.effect("429 with Retry-After once a key spends its budget; other keys are unaffected", () =>
      Effect.gen(function* () {
        const statuses: Array<number> = []
        for (let i = 0; i < 4; i++) {
          statuses.push((yield* raw("/api/v1/templates", { headers: authorized(keys.admin) })).status)
        }
        expect(statuses).toEqual([200, 200, 200, 429])
        const limited = yield* raw("/api/v1/templates", { headers: authorized(keys.admin) })
        expect(limited.status).toBe(429)
        expect(limited.headers.get("content-type")).toBe("application/problem+json")
        const retryAfter = Number(limited.headers.get("retry-after"))
        expect(retryAfter).toBeGreaterThan(0)
        expect(limited.headers.get("ratelimit-remaining")).toBe("0")
        expect(limited.body).toMatchObject({
          type: "https://notification-service.dev/problems/rate-limited",
          status: 429,
          retry_after: retryAfter
        })
        const other = yield* raw("/api/v1/templates", { headers: authorized(keys.reader) })
        expect(other.status).toBe(200)
      })
    )
  })
})
