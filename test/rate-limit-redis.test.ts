import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { findRedis } from "./support/redis.js"
import { apiKeysConfig, TestServerInfo, testServer } from "./support/server.js"

// Found before collection, so that the test is skipped (not failed) where no Redis can exist;
// CI sets CI_REQUIRE_REDIS=1 so that it can never be skipped there.
const redis = await findRedis()
const required = process.env.CI_REQUIRE_REDIS === "1"
if (redis === undefined && !required) console.log("[tests] no Redis reachable and no Docker: Redis store test skipped")

afterAll(async () => {
  await redis?.stop()
})

describe("rate limits in Redis", () => {
  it.live.skipIf(redis === undefined && !required)(
    "two replicas share one budget per API key",
    () =>
      Effect.gen(function* () {
        if (redis === undefined) throw new Error("CI_REQUIRE_REDIS=1 but no Redis is reachable")
        // A key id of its own, so budgets left in Redis by earlier runs do not count.
        const keyId = `redis_${process.pid}_${Date.now()}`
        const key = `${keyId}-secret-0123456789`
        const env = {
          REDIS_URL: redis.url,
          RATE_LIMIT_REQUESTS: "4",
          RATE_LIMIT_WINDOW: "1 hour",
          API_KEYS: `${apiKeysConfig()};${keyId}:${key}:*`
        }
        const replica = (path: string) =>
          Effect.flatMap(TestServerInfo, ({ baseUrl }) =>
            Effect.promise(() => fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } }))
          )
        const statuses = yield* Effect.gen(function* () {
          const a = yield* Layer.build(testServer(env))
          const b = yield* Layer.build(testServer(env))
          const results: Array<number> = []
          for (const context of [a, b, a, b, a, b]) {
            const response = yield* replica("/api/v1/templates").pipe(Effect.provide(context))
            results.push(response.status)
          }
          return results
        }).pipe(Effect.scoped)
        expect(statuses).toEqual([200, 200, 200, 200, 429, 429])
      }),
    60_000
  )
})
