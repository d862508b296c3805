import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"

/** Every setting the processes read, with its default. The README's table lists them. */
export const HttpConfig = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  // 0 asks the OS for a free port (tests); `Config.port` would refuse it.
  port: Config.integer("PORT").pipe(
    Config.validate({ message: "PORT must be 0..65535", validation: (port) => port >= 0 && port <= 65535 }),
    Config.withDefault(3000)
  ),
  maxBodyBytes: Config.integer("MAX_BODY_BYTES").pipe(Config.withDefault(256 * 1024)),
  shutdownGrace: Config.duration("SHUTDOWN_GRACE_PERIOD").pipe(Config.withDefault(Duration.seconds(20))),
  preStopDelay: Config.duration("SHUTDOWN_PRESTOP_DELAY").pipe(Config.withDefault(Duration.seconds(0)))
})
export type HttpConfig = Config.Config.Success<typeof HttpConfig>

export const DatabaseConfig = Config.all({
  url: Config.option(Config.redacted("DATABASE_URL")),
  poolSize: Config.integer("DATABASE_POOL_SIZE").pipe(Config.withDefault(10)),
  dataDir: Config.string("DATA_DIR").pipe(Config.withDefault(".data")),
  runMigrations: Config.boolean("RUN_MIGRATIONS").pipe(Config.withDefault(true))
})
export type DatabaseConfig = Config.Config.Success<typeof DatabaseConfig>

export const RateLimitConfig = Config.all({
  limit: Config.integer("RATE_LIMIT_REQUESTS").pipe(Config.withDefault(600)),
  window: Config.duration("RATE_LIMIT_WINDOW").pipe(Config.withDefault(Duration.minutes(1))),
  redisUrl: Config.option(Config.redacted("REDIS_URL"))
})
export type RateLimitConfig = Config.Config.Success<typeof RateLimitConfig>

export const IdempotencyConfig = Config.all({
  ttl: Config.duration("IDEMPOTENCY_KEY_TTL").pipe(Config.withDefault(Duration.hours(24))),
  // A key still "in flight" this long after its request began belongs to a request that died.
  staleAfter: Config.duration("IDEMPOTENCY_STALE_AFTER").pipe(Config.withDefault(Duration.minutes(1))),
  purgeInterval: Config.duration("IDEMPOTENCY_PURGE_INTERVAL").pipe(Config.withDefault(Duration.minutes(10)))
})
export type IdempotencyConfig = Config.Config.Success<typeof IdempotencyConfig>

export const TelemetryConfig = Config.all({
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("notification-service")),
  otlpEndpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT"))
})
export type TelemetryConfig = Config.Config.Success<typeof TelemetryConfig>

export const ApiKeysConfig: Config.Config<Option.Option<Redacted.Redacted>> = Config.option(Config.redacted("API_KEYS"))
