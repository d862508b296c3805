import { RateLimiter } from "@effect/experimental"
import * as RedisRateLimiter from "@effect/experimental/RateLimiter/Redis"
import { HttpApp, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { ApiKeys, RateLimitConfig } from "@notification-service/core"
import { TooManyRequests } from "@notification-service/domain"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/** In memory by default; in Redis when `REDIS_URL` is set, so every replica shares one budget per key. */
export const RateLimiterLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* RateLimitConfig
    const store = Option.match(config.redisUrl, {
      onNone: () => RateLimiter.layerStoreMemory,
      onSome: (url) => {
        const parsed = new URL(Redacted.value(url))
        return RedisRateLimiter.layerStore({
          host: parsed.hostname,
          port: parsed.port === "" ? 6379 : Number(parsed.port),
          ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
          ...(parsed.username === "" ? {} : { username: decodeURIComponent(parsed.username) }),
          db: parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0,
          prefix: "notification-service:ratelimit:",
          maxRetriesPerRequest: 1,
          enableOfflineQueue: false
        })
      }
    })
    return RateLimiter.layer.pipe(Layer.provide(store))
  })
)

const seconds = (duration: Duration.Duration) => Math.max(0, Math.ceil(Duration.toMillis(duration) / 1000))

/** The legacy `RateLimit-*` triple plus the IETF draft's structured `RateLimit-Policy` / `RateLimit`. */
export const rateLimitHeaders = (options: {
  readonly limit: number
  readonly remaining: number
  readonly reset: number
  readonly window: number
}): Record<string, string> => ({
  "ratelimit-limit": String(options.limit),
  "ratelimit-remaining": String(options.remaining),
  "ratelimit-reset": String(options.reset),
  "ratelimit-policy": `"default";q=${options.limit};w=${options.window}`,
  ratelimit: `"default";r=${options.remaining};t=${options.reset}`
})

const appendHeaders = (headers: Record<string, string>) =>
  HttpApp.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeaders(response, headers))
  )

/**
 * Spends one request of the caller's budget: per API key when the bearer token is a known key,
 * else per client address. A failing store lets requests through (logged): an outage of the
 * limiter must not become an outage of notifications.
 */
export const makeRateLimit = Effect.gen(function* () {
  const limiter = yield* RateLimiter.RateLimiter
  const apiKeys = yield* ApiKeys
  const config = yield* RateLimitConfig
  const window = seconds(config.window)

  const identify = (request: HttpServerRequest.HttpServerRequest): string => {
    const authorization = request.headers.authorization ?? ""
    const token = authorization.toLowerCase().startsWith("bearer ") ? authorization.slice(7).trim() : ""
    return Option.match(apiKeys.authenticate(token), {
      onSome: (principal) => `key:${principal.keyId}`,
      onNone: () => `ip:${Option.getOrElse(request.remoteAddress, () => "unknown")}`
    })
  }

  return (request: HttpServerRequest.HttpServerRequest): Effect.Effect<void, TooManyRequests> =>
    limiter
      .consume({
        key: identify(request),
        limit: config.limit,
        window: config.window,
        algorithm: "token-bucket",
        onExceeded: "fail"
      })
      .pipe(
        Effect.flatMap((result) =>
          appendHeaders(
            rateLimitHeaders({
              limit: result.limit,
              remaining: result.remaining,
              reset: seconds(result.resetAfter),
              window
            })
          )
        ),
        Effect.catchTag("RateLimiterError", (error) => {
          if (error.reason === "StoreError") {
            return Effect.logWarning("rate limit store unavailable; request allowed", error)
          }
          const retryAfter = Math.max(1, seconds(error.retryAfter))
          return Effect.zipRight(
            appendHeaders({
              ...rateLimitHeaders({ limit: error.limit, remaining: 0, reset: retryAfter, window }),
              "retry-after": String(retryAfter)
            }),
            Effect.fail(
              new TooManyRequests({
                retry_after: retryAfter,
                detail: `Rate limit of ${error.limit} requests per ${window}s exceeded; retry in ${retryAfter}s.`
              })
            )
          )
        })
      )
})
