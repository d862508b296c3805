import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
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

/** Retry, bulkhead and timeout settings of one channel, read from `<CHANNEL>_…` (e.g. `EMAIL_RETRY_MAX_ATTEMPTS`). */
export const channelConfig = (channel: "email" | "sms" | "push") => {
  // Full names rather than `Config.nested`, whose delimiter depends on the config provider.
  const name = (key: string) => `${channel.toUpperCase()}_${key}`
  return Config.all({
    providers: Config.array(Config.string(), name("PROVIDERS")).pipe(Config.withDefault(["log"])),
    retry: Config.all({
      maxAttempts: Config.integer(name("RETRY_MAX_ATTEMPTS")).pipe(Config.withDefault(3)),
      baseDelay: Config.duration(name("RETRY_BASE_DELAY")).pipe(Config.withDefault(Duration.millis(500))),
      backoffFactor: Config.number(name("RETRY_BACKOFF_FACTOR")).pipe(Config.withDefault(2)),
      maxDelay: Config.duration(name("RETRY_MAX_DELAY")).pipe(Config.withDefault(Duration.seconds(10))),
      jitter: Config.boolean(name("RETRY_JITTER")).pipe(Config.withDefault(true))
    }),
    bulkhead: Config.all({
      maxConcurrentCalls: Config.integer(name("BULKHEAD_MAX_CONCURRENT_CALLS")).pipe(Config.withDefault(20)),
      maxWait: Config.duration(name("BULKHEAD_MAX_WAIT")).pipe(Config.withDefault(Duration.seconds(5)))
    }),
    timeout: Config.duration(name("TIMEOUT")).pipe(Config.withDefault(Duration.seconds(10)))
  })
}
export type ChannelConfig = Config.Config.Success<ReturnType<typeof channelConfig>>

/** One circuit breaker per provider, all with these settings. */
export const CircuitBreakerConfig = Config.all({
  failureThreshold: Config.integer("CIRCUIT_BREAKER_FAILURE_THRESHOLD").pipe(Config.withDefault(5)),
  resetTimeout: Config.duration("CIRCUIT_BREAKER_RESET_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30))),
  halfOpenAttempts: Config.integer("CIRCUIT_BREAKER_HALF_OPEN_ATTEMPTS").pipe(Config.withDefault(2))
})
export type CircuitBreakerConfig = Config.Config.Success<typeof CircuitBreakerConfig>

export const DeliveryConfig = Config.all({
  smsMaxSegments: Config.integer("SMS_MAX_SEGMENTS").pipe(Config.withDefault(3)),
  // A notification that could not be delivered this many provider calls in, or this long after it
  // was accepted, fails for good instead of waiting for providers to recover.
  maxAttempts: Config.integer("DELIVERY_MAX_ATTEMPTS").pipe(Config.withDefault(10)),
  deadline: Config.duration("DELIVERY_DEADLINE").pipe(Config.withDefault(Duration.hours(24))),
  requeueDelay: Config.duration("DELIVERY_REQUEUE_DELAY").pipe(Config.withDefault(Duration.seconds(30))),
  // A full bulkhead says nothing about the provider: such work comes back soon.
  busyRequeueDelay: Config.duration("DELIVERY_BUSY_REQUEUE_DELAY").pipe(Config.withDefault(Duration.seconds(1)))
})
export type DeliveryConfig = Config.Config.Success<typeof DeliveryConfig>

export const DispatcherConfig = Config.all({
  // With Kafka, the worker dispatches; without, the server does it in-process.
  enabled: Config.boolean("DISPATCHER_ENABLED").pipe(
    Config.orElse(() => Config.map(Config.option(Config.string("KAFKA_BROKERS")), Option.isNone))
  ),
  pollInterval: Config.duration("DISPATCHER_POLL_INTERVAL").pipe(Config.withDefault(Duration.seconds(1))),
  batchSize: Config.integer("DISPATCHER_BATCH_SIZE").pipe(Config.withDefault(100)),
  concurrency: Config.integer("DISPATCHER_CONCURRENCY").pipe(Config.withDefault(32)),
  // Longer than the slowest delivery (retries included): a lapsed lease means the dispatcher died.
  lease: Config.duration("DISPATCHER_LEASE").pipe(Config.withDefault(Duration.minutes(5)))
})
export type DispatcherConfig = Config.Config.Success<typeof DispatcherConfig>

/** Kafka: brokers, client id, topic names and producer settings (ARCHITECTURE.md has the event catalogue). */
export const KafkaConfig = Config.all({
  brokers: Config.array(Config.string(), "KAFKA_BROKERS"),
  clientId: Config.string("KAFKA_CLIENT_ID").pipe(Config.withDefault("notification-service")),
  topics: Config.all({
    commands: Config.string("KAFKA_TOPIC_COMMANDS").pipe(Config.withDefault("notifications.commands")),
    events: Config.string("KAFKA_TOPIC_EVENTS").pipe(Config.withDefault("notifications.events")),
    identity: Config.string("KAFKA_TOPIC_IDENTITY").pipe(Config.withDefault("identity.users"))
  }),
  // Real Kafka: on. librdkafka's mock cluster (CI) has no idempotent producer: off there.
  idempotentProducer: Config.boolean("KAFKA_IDEMPOTENT_PRODUCER").pipe(Config.withDefault(true)),
  compression: Config.literal("none", "gzip")("KAFKA_COMPRESSION").pipe(Config.withDefault("none" as const)),
  // How soon a dead consumer's partitions move to another; also how long a restarted one may wait to rejoin.
  sessionTimeout: Config.duration("KAFKA_SESSION_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30)))
})
export type KafkaConfig = Config.Config.Success<typeof KafkaConfig>

/** The notification event store: how often a snapshot of an aggregate is taken. */
export const EventStoreConfig = Config.all({
  snapshotEvery: Config.integer("EVENT_STORE_SNAPSHOT_EVERY").pipe(
    Config.validate({ message: "EVENT_STORE_SNAPSHOT_EVERY must be at least 1", validation: (n) => n >= 1 }),
    Config.withDefault(10)
  )
})
export type EventStoreConfig = Config.Config.Success<typeof EventStoreConfig>

export const OutboxRelayConfig = Config.all({
  batchSize: Config.integer("OUTBOX_RELAY_BATCH_SIZE").pipe(Config.withDefault(500)),
  pollInterval: Config.duration("OUTBOX_RELAY_POLL_INTERVAL").pipe(Config.withDefault(Duration.seconds(1))),
  retention: Config.duration("OUTBOX_RETENTION").pipe(Config.withDefault(Duration.days(7))),
  pruneInterval: Config.duration("OUTBOX_PRUNE_INTERVAL").pipe(Config.withDefault(Duration.hours(1)))
})
export type OutboxRelayConfig = Config.Config.Success<typeof OutboxRelayConfig>
