import { existsSync, readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import {
  ApiKeysConfig,
  DatabaseConfig,
  DispatcherConfig,
  HttpConfig,
  KafkaConfig,
  OutboxRelayConfig,
  parseApiKeys,
  RateLimitConfig,
  TelemetryConfig
} from "@notification-service/core"
import { WorkerHttpConfig } from "@notification-service/workers"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { parse } from "yaml"

/**
 * Docker files cannot be run in CI here (no Docker engine), so they are checked by reading them:
 * docker-compose.yml against a small JSON-Schema-like structural schema plus cross-reference
 * checks, the Dockerfile against the properties the image must have. Every check is a pure
 * function of the file's content, and the last tests feed each one a broken variant to prove it
 * can fail.
 */

const read = (relative: string): string => readFileSync(new URL(relative, import.meta.url), "utf8")
const composeText = read("../docker-compose.yml")
const dockerfileText = read("../Dockerfile")
const dockerignoreText = read("../.dockerignore")
const rootManifest: unknown = JSON.parse(read("../package.json"))

/** Delivery settings (packages/core/src/AppConfig.ts and the channel adapters): both processes dispatch. */
const deliverySettings: ReadonlyArray<string> = [
  "DISPATCHER_ENABLED",
  "DISPATCHER_POLL_INTERVAL",
  "DISPATCHER_BATCH_SIZE",
  "DISPATCHER_CONCURRENCY",
  "DISPATCHER_LEASE",
  "DELIVERY_MAX_ATTEMPTS",
  "DELIVERY_DEADLINE",
  "DELIVERY_REQUEUE_DELAY",
  "DELIVERY_BUSY_REQUEUE_DELAY",
  "SMS_MAX_SEGMENTS",
  "CIRCUIT_BREAKER_FAILURE_THRESHOLD",
  "CIRCUIT_BREAKER_RESET_TIMEOUT",
  "CIRCUIT_BREAKER_HALF_OPEN_ATTEMPTS",
  ...["EMAIL", "SMS", "PUSH"].flatMap((channel) =>
    [
      "PROVIDERS",
      "RETRY_MAX_ATTEMPTS",
      "RETRY_BASE_DELAY",
      "RETRY_BACKOFF_FACTOR",
      "RETRY_MAX_DELAY",
      "RETRY_JITTER",
      "BULKHEAD_MAX_CONCURRENT_CALLS",
      "BULKHEAD_MAX_WAIT",
      "TIMEOUT"
    ].map((setting) => `${channel}_${setting}`)
  ),
  "EMAIL_FROM",
  "SMTP_HOST",
  "SMTP_PORT",
  "SMTP_SECURE",
  "SMTP_USER",
  "SMTP_PASSWORD",
  "SMTP_CONNECTION_TIMEOUT",
  "SMTP_GREETING_TIMEOUT",
  "SMTP_SOCKET_TIMEOUT",
  "SMTP_MAX_CONNECTIONS",
  "SENDGRID_API_KEY",
  "SENDGRID_BASE_URL",
  "TWILIO_ACCOUNT_SID",
  "TWILIO_AUTH_TOKEN",
  "TWILIO_FROM",
  "TWILIO_MESSAGING_SERVICE_SID",
  "TWILIO_STATUS_CALLBACK_URL",
  "TWILIO_BASE_URL",
  "FCM_PROJECT_ID",
  "FCM_ACCESS_TOKEN",
  "FCM_BASE_URL"
]

/** Settings both processes read. */
const sharedSettings: ReadonlyArray<string> = [
  "HOST",
  "DATABASE_URL",
  "DATABASE_POOL_SIZE",
  "DATA_DIR",
  "SHUTDOWN_GRACE_PERIOD",
  // The server only checks whether it is set: then the worker dispatches, not the server.
  "KAFKA_BROKERS",
  "OTEL_SERVICE_NAME",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "LOG_LEVEL",
  ...deliverySettings
]

/** The settings the server reads (packages/core/src/AppConfig.ts and LOG_LEVEL). */
const serverSettings: ReadonlySet<string> = new Set([
  ...sharedSettings,
  "PORT",
  "RUN_MIGRATIONS",
  "API_KEYS",
  "RATE_LIMIT_REQUESTS",
  "RATE_LIMIT_WINDOW",
  "REDIS_URL",
  "MAX_BODY_BYTES",
  "SHUTDOWN_PRESTOP_DELAY",
  "IDEMPOTENCY_KEY_TTL",
  "IDEMPOTENCY_STALE_AFTER",
  "IDEMPOTENCY_PURGE_INTERVAL"
])

/** The settings the worker reads (KafkaConfig, OutboxRelayConfig, packages/workers/src). */
const workerSettings: ReadonlySet<string> = new Set([
  ...sharedSettings,
  "WORKER_PORT",
  "KAFKA_CLIENT_ID",
  "KAFKA_TOPIC_COMMANDS",
  "KAFKA_TOPIC_EVENTS",
  "KAFKA_TOPIC_IDENTITY",
  "KAFKA_IDEMPOTENT_PRODUCER",
  "KAFKA_COMPRESSION",
  "KAFKA_PARTITIONS_CONCURRENTLY",
  "OUTBOX_RELAY_BATCH_SIZE",
  "OUTBOX_RELAY_POLL_INTERVAL",
  "OUTBOX_RETENTION",
  "OUTBOX_PRUNE_INTERVAL"
])

/**
 * The worker's stop, besides the dispatch loop's drain (SHUTDOWN_GRACE_PERIOD), which runs at the
 * same time: the consumers wait 10 s for the records in flight (packages/workers/src/Consumer.ts),
 * the relay 10 s for its batch (OutboxRelay.ts); then spans are flushed within 5 s (core Telemetry.ts).
 */
const workerStopMillis = { consumers: 10_000, relay: 10_000, spanFlush: 5_000 } as const

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

// ---------------------------------------------------------------------------------------------
// A tiny structural validator: each rule appends `path: reason` for every violation it finds.
// ---------------------------------------------------------------------------------------------

type Rule = (value: unknown, path: string, problems: Array<string>) => void

const validate = (rule: Rule, value: unknown): ReadonlyArray<string> => {
  const problems: Array<string> = []
  rule(value, "$", problems)
  return problems
}

const string =
  (pattern?: RegExp): Rule =>
  (value, path, problems) => {
    if (typeof value !== "string") problems.push(`${path}: expected a string`)
    else if (pattern !== undefined && !pattern.test(value))
      problems.push(`${path}: '${value}' does not match ${pattern}`)
  }

const literal =
  (...allowed: ReadonlyArray<string>): Rule =>
  (value, path, problems) => {
    if (typeof value !== "string" || !allowed.includes(value)) {
      problems.push(`${path}: expected one of ${allowed.join(", ")}`)
    }
  }

const boolean: Rule = (value, path, problems) => {
  if (typeof value !== "boolean") problems.push(`${path}: expected a boolean`)
}

const positiveInteger: Rule = (value, path, problems) => {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    problems.push(`${path}: expected a positive integer`)
  }
}

const nullable =
  (rule: Rule): Rule =>
  (value, path, problems) => {
    if (value !== null) rule(value, path, problems)
  }

const arrayOf =
  (item: Rule, minItems = 0): Rule =>
  (value, path, problems) => {
    if (!Array.isArray(value)) {
      problems.push(`${path}: expected an array`)
      return
    }
    if (value.length < minItems) problems.push(`${path}: expected at least ${minItems} item(s)`)
    for (const [index, element] of value.entries()) item(element, `${path}[${index}]`, problems)
  }

/** An object with only the listed properties (additionalProperties: false). */
const object =
  (properties: Readonly<Record<string, Rule>>, required: ReadonlyArray<string> = []): Rule =>
  (value, path, problems) => {
    if (!isRecord(value)) {
      problems.push(`${path}: expected an object`)
      return
    }
    for (const key of required) {
      if (!(key in value)) problems.push(`${path}: missing required property '${key}'`)
    }
    for (const [key, property] of Object.entries(value)) {
      const rule = properties[key]
      if (rule === undefined) problems.push(`${path}: unexpected property '${key}'`)
      else rule(property, `${path}.${key}`, problems)
    }
  }

/** An object used as a map: any keys matching `keyPattern`, every value matching `item`. */
const recordOf =
  (item: Rule, keyPattern: RegExp, minProperties = 0): Rule =>
  (value, path, problems) => {
    if (!isRecord(value)) {
      problems.push(`${path}: expected an object`)
      return
    }
    const entries = Object.entries(value)
    if (entries.length < minProperties) problems.push(`${path}: expected at least ${minProperties} entr(ies)`)
    for (const [key, element] of entries) {
      if (!keyPattern.test(key)) problems.push(`${path}: key '${key}' does not match ${keyPattern}`)
      item(element, `${path}.${key}`, problems)
    }
  }

/** anyOf: passes when one alternative reports nothing; otherwise reports the first one's problems. */
const anyOf =
  (...alternatives: ReadonlyArray<Rule>): Rule =>
  (value, path, problems) => {
    const results = alternatives.map((rule) => {
      const found: Array<string> = []
      rule(value, path, found)
      return found
    })
    if (!results.some((found) => found.length === 0)) problems.push(...(results[0] ?? []))
  }

const allOf =
  (...rules: ReadonlyArray<Rule>): Rule =>
  (value, path, problems) => {
    for (const rule of rules) rule(value, path, problems)
  }

// ---------------------------------------------------------------------------------------------
// The compose schema: the subset of the Compose Specification this project uses.
// ---------------------------------------------------------------------------------------------

/** Go duration as Compose reads it: `30s`, `1m30s`, `500ms`. */
const goDuration = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/
const serviceName = /^[a-z0-9][a-z0-9_.-]*$/
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/

const healthcheckTest: Rule = anyOf(string(/\S/), (value, path, problems) => {
  arrayOf(string(), 2)(value, path, problems)
  if (Array.isArray(value) && !["CMD", "CMD-SHELL"].includes(String(value[0]))) {
    problems.push(`${path}[0]: expected CMD or CMD-SHELL`)
  }
})

const healthcheck = object(
  {
    test: healthcheckTest,
    interval: string(goDuration),
    timeout: string(goDuration),
    start_period: string(goDuration),
    start_interval: string(goDuration),
    retries: positiveInteger,
    disable: boolean
  },
  ["test"]
)

const imageOrBuild: Rule = (value, path, problems) => {
  if (isRecord(value) && !("image" in value) && !("build" in value)) problems.push(`${path}: needs 'image' or 'build'`)
}

const service = allOf(
  imageOrBuild,
  object({
    image: string(/^[a-z0-9][\w./-]*(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/),
    build: anyOf(
      string(/\S/),
      object({ context: string(/\S/), dockerfile: string(/\S/), target: string(/\S/) }, ["context"])
    ),
    command: anyOf(string(/\S/), arrayOf(string(), 1)),
    // Mapping form with string values only: no YAML booleans or numbers silently retyped.
    environment: recordOf(string(), envName),
    ports: arrayOf(string(/^\d+:\d+$/)),
    volumes: arrayOf(string(/^[^:\s]+:\/[^:\s]*(:(ro|rw))?$/)),
    depends_on: anyOf(
      arrayOf(string(serviceName)),
      recordOf(
        object(
          {
            condition: literal("service_started", "service_healthy", "service_completed_successfully"),
            restart: boolean,
            required: boolean
          },
          ["condition"]
        ),
        serviceName
      )
    ),
    healthcheck,
    restart: literal("no", "always", "on-failure", "unless-stopped"),
    stop_grace_period: string(goDuration),
    stop_signal: string(/^SIG[A-Z0-9]+$/),
    init: boolean
  })
)

const namedResource = nullable(object({ name: string(/\S/), driver: string(/\S/), external: boolean }))

const composeSchema = object(
  {
    name: string(/^[a-z0-9][a-z0-9_-]*$/),
    services: recordOf(service, serviceName, 1),
    volumes: recordOf(namedResource, serviceName),
    networks: recordOf(namedResource, serviceName)
  },
  ["services"]
)

// ---------------------------------------------------------------------------------------------
// Cross-reference checks on a structurally valid file.
// ---------------------------------------------------------------------------------------------

interface ComposeService {
  image?: string
  build?: string | { context: string; dockerfile?: string; target?: string }
  command?: string | Array<string>
  environment?: Record<string, string>
  ports?: Array<string>
  volumes?: Array<string>
  depends_on?: Array<string> | Record<string, { condition: string }>
  healthcheck?: { test: string | Array<string> }
  stop_grace_period?: string
}

interface ComposeFile {
  name?: string
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
  networks?: Record<string, unknown>
}

const isComposeFile = (value: unknown): value is ComposeFile => validate(composeSchema, value).length === 0

const dependencies = (svc: ComposeService): ReadonlyArray<readonly [string, string]> =>
  Array.isArray(svc.depends_on)
    ? svc.depends_on.map((target) => [target, "service_started"] as const)
    : Object.entries(svc.depends_on ?? {}).map(([target, { condition }]) => [target, condition] as const)

const dependsOnProblems = (file: ComposeFile): ReadonlyArray<string> =>
  Object.entries(file.services).flatMap(([name, svc]) =>
    dependencies(svc).flatMap(([target, condition]) => {
      const other = file.services[target]
      if (other === undefined) return [`${name}: depends on undefined service '${target}'`]
      if (target === name) return [`${name}: depends on itself`]
      if (condition === "service_healthy" && other.healthcheck === undefined) {
        return [`${name}: waits for '${target}' to be healthy, but '${target}' has no healthcheck`]
      }
      return []
    })
  )

const volumeProblems = (file: ComposeFile): ReadonlyArray<string> =>
  Object.entries(file.services).flatMap(([name, svc]) =>
    (svc.volumes ?? []).flatMap((mount) => {
      const source = mount.split(":")[0] ?? ""
      const named = !source.startsWith(".") && !source.startsWith("/") && !source.startsWith("~")
      return named && !(source in (file.volumes ?? {})) ? [`${name}: volume '${source}' is not declared`] : []
    })
  )

const hostPortProblems = (file: ComposeFile): ReadonlyArray<string> => {
  const owners = new Map<string, string>()
  const problems: Array<string> = []
  for (const [name, svc] of Object.entries(file.services)) {
    for (const mapping of svc.ports ?? []) {
      const host = mapping.split(":")[0] ?? ""
      const owner = owners.get(host)
      if (owner !== undefined) problems.push(`${name}: host port ${host} is already published by ${owner}`)
      owners.set(host, name)
    }
  }
  return problems
}

/** Milliseconds of a Go duration (`1m30s`); undefined when it is not one. */
const goDurationMillis = (text: string): number | undefined => {
  if (!goDuration.test(text)) return undefined
  const unit: Readonly<Record<string, number>> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1_000,
    m: 60_000,
    h: 3_600_000
  }
  let total = 0
  for (const [, amount, suffix] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (unit[suffix ?? ""] ?? Number.NaN)
  }
  return total
}

/** The api's environment read through the service's own Config definitions (defaults included). */
const ApiSettings = Config.all({
  http: HttpConfig,
  database: DatabaseConfig,
  rateLimit: RateLimitConfig,
  telemetry: TelemetryConfig,
  apiKeys: ApiKeysConfig,
  dispatcher: DispatcherConfig,
  logLevel: Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
})

/** The worker's environment, the same way (KAFKA_PARTITIONS_CONCURRENTLY as packages/workers/src/Consumers.ts reads it). */
const WorkerSettings = Config.all({
  http: HttpConfig,
  probes: WorkerHttpConfig,
  database: DatabaseConfig,
  kafka: KafkaConfig,
  relay: OutboxRelayConfig,
  telemetry: TelemetryConfig,
  partitionsConsumedConcurrently: Config.integer("KAFKA_PARTITIONS_CONCURRENTLY").pipe(Config.withDefault(4)),
  logLevel: Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
})

const resolveWith = <A>(config: Config.Config<A>, environment: Readonly<Record<string, string>>) =>
  Effect.runSync(
    Effect.either(Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(environment)))))
  )

const hostOf = (value: string): string | undefined => (URL.canParse(value) ? new URL(value).hostname : undefined)

/** The `host:port` entries of KAFKA_BROKERS (comma-separated, as `Config.array` reads it). */
const brokersOf = (value: string): ReadonlyArray<string> =>
  value
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker !== "")

const brokerHost = (broker: string): string => broker.slice(0, Math.max(0, broker.lastIndexOf(":")))

const healthcheckText = (svc: ComposeService): string => {
  const test = svc.healthcheck?.test
  return Array.isArray(test) ? test.join(" ") : (test ?? "")
}

const stopGraceMillis = (svc: ComposeService): number | undefined =>
  svc.stop_grace_period === undefined ? 10_000 : goDurationMillis(svc.stop_grace_period)

/** Each setting must be set and name compose services that `name` depends on. */
const reachProblems = (file: ComposeFile, name: string, settings: ReadonlyArray<string>): ReadonlyArray<string> => {
  const svc = file.services[name]
  if (svc === undefined) return [`no '${name}' service`]
  const environment = svc.environment ?? {}
  return settings.flatMap((setting) => {
    const value = environment[setting]
    if (value === undefined) return [`${name}: ${setting} must be set`]
    const hosts = setting === "KAFKA_BROKERS" ? brokersOf(value).map(brokerHost) : [hostOf(value)]
    return hosts.flatMap((host) => {
      if (host === undefined || file.services[host] === undefined) {
        return [`${name}: ${setting} must point at a compose service, not '${host ?? value}'`]
      }
      if (!dependencies(svc).some(([target]) => target === host)) {
        return [`${name}: ${setting} points at '${host}', which ${name} does not depend on`]
      }
      return []
    })
  })
}

const apiProblems = (file: ComposeFile): ReadonlyArray<string> => {
  const api = file.services.api
  if (api === undefined) return ["no 'api' service"]
  const problems: Array<string> = []
  const context = typeof api.build === "string" ? api.build : api.build?.context
  if (context !== ".") problems.push("api: must be built from the repository root (build context '.')")

  const environment = api.environment ?? {}
  for (const name of Object.keys(environment)) {
    if (!serverSettings.has(name)) problems.push(`api: environment variable ${name} is not a setting the server reads`)
  }
  if (environment.API_KEYS === undefined) problems.push("api: API_KEYS must be set")
  problems.push(...reachProblems(file, "api", ["DATABASE_URL", "REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"]))

  const resolved = resolveWith(ApiSettings, environment)
  if (Either.isLeft(resolved)) return [...problems, `api: environment does not parse: ${String(resolved.left)}`]
  const settings = resolved.right

  if (Option.isSome(settings.apiKeys)) {
    try {
      if (parseApiKeys(Redacted.value(settings.apiKeys.value)).length === 0) problems.push("api: API_KEYS holds no key")
    } catch (error) {
      problems.push(`api: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  const published = (api.ports ?? []).map((mapping) => mapping.split(":")[1])
  if (!published.includes(String(settings.http.port))) {
    problems.push(`api: the container port ${settings.http.port} (PORT) is not published`)
  }
  if (api.healthcheck !== undefined && !healthcheckText(api).includes(`:${settings.http.port}/health/`)) {
    problems.push(`api: the healthcheck must probe /health/* on PORT (${settings.http.port})`)
  }
  if (file.services.worker !== undefined && settings.dispatcher.enabled) {
    problems.push(
      "api: dispatches in-process although the worker runs (set KAFKA_BROKERS, or DISPATCHER_ENABLED=false)"
    )
  }

  const shutdown = Duration.sum(settings.http.preStopDelay, settings.http.shutdownGrace)
  const stopGrace = stopGraceMillis(api)
  if (stopGrace === undefined || stopGrace <= Duration.toMillis(shutdown)) {
    problems.push(
      `api: stop_grace_period (${api.stop_grace_period ?? "10s default"}) must exceed SHUTDOWN_PRESTOP_DELAY + SHUTDOWN_GRACE_PERIOD (${Duration.format(shutdown)})`
    )
  }
  return problems
}

/** `NAME://host:port` entries of a Kafka listener list, by listener name. */
const listenersOf = (
  value: string | undefined
): ReadonlyMap<string, { readonly host: string; readonly port: string }> => {
  const listeners = new Map<string, { readonly host: string; readonly port: string }>()
  for (const entry of (value ?? "").split(",")) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*):\/\/([^:/]*):(\d+)$/.exec(entry.trim())
    if (match?.[1] !== undefined) listeners.set(match[1], { host: match[2] ?? "", port: match[3] ?? "" })
  }
  return listeners
}

/** One KRaft node whose listeners the containers (and the host) can reach. */
const kafkaProblems = (file: ComposeFile): ReadonlyArray<string> => {
  const kafka = file.services.kafka
  if (kafka === undefined) return ["no 'kafka' service"]
  const problems: Array<string> = []
  const env = kafka.environment ?? {}
  if (!/^apache\/kafka:\d+\.\d+\.\d+$/.test(kafka.image ?? "")) {
    problems.push("kafka: image must be a pinned apache/kafka release")
  }
  const roles = (env.KAFKA_PROCESS_ROLES ?? "").split(",").map((role) => role.trim())
  if (!roles.includes("broker") || !roles.includes("controller") || env.KAFKA_ZOOKEEPER_CONNECT !== undefined) {
    problems.push("kafka: must be one KRaft node (KAFKA_PROCESS_ROLES broker,controller; no ZooKeeper)")
  }
  if (!/^[A-Za-z0-9_-]{22}$/.test(env.CLUSTER_ID ?? "")) {
    problems.push("kafka: CLUSTER_ID must be a base64url UUID (22 characters)")
  }

  const listeners = listenersOf(env.KAFKA_LISTENERS)
  const advertised = listenersOf(env.KAFKA_ADVERTISED_LISTENERS)
  const protocols = new Set(
    (env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? "").split(",").map((entry) => entry.split(":")[0]?.trim())
  )
  for (const listener of listeners.keys()) {
    if (!protocols.has(listener)) problems.push(`kafka: listener ${listener} has no security protocol`)
  }
  for (const [listener, { host, port }] of advertised) {
    if (listeners.get(listener)?.port !== port) {
      problems.push(`kafka: advertised listener ${listener} has no listener on port ${port}`)
    }
    if (host === "localhost" || host === "127.0.0.1") {
      if (!(kafka.ports ?? []).includes(`${port}:${port}`)) {
        problems.push(`kafka: ${listener} is advertised as ${host}:${port}, but that port is not published`)
      }
    } else if (host !== "kafka") {
      problems.push(`kafka: ${listener} is advertised as '${host}', neither the service name nor localhost`)
    }
  }
  const controller = env.KAFKA_CONTROLLER_LISTENER_NAMES ?? ""
  const voters = `${env.KAFKA_NODE_ID ?? "?"}@kafka:${listeners.get(controller)?.port ?? "?"}`
  if (env.KAFKA_CONTROLLER_QUORUM_VOTERS !== voters) {
    problems.push(`kafka: KAFKA_CONTROLLER_QUORUM_VOTERS must be ${voters} (this node, on its controller listener)`)
  }
  if (advertised.has(controller)) problems.push("kafka: the controller listener must not be advertised")
  const interBroker = env.KAFKA_INTER_BROKER_LISTENER_NAME ?? ""
  if (!advertised.has(interBroker)) {
    problems.push("kafka: KAFKA_INTER_BROKER_LISTENER_NAME must name an advertised listener")
  }
  // The defaults (3 replicas) cannot be met by one broker: consumer groups would never form.
  for (const setting of ["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]) {
    if (env[setting] !== "1") problems.push(`kafka: ${setting} must be 1 on a single node`)
  }
  if (kafka.healthcheck === undefined) problems.push("kafka: no healthcheck, so nothing can wait for the broker")

  // Clients are sent to the advertised addresses after bootstrap: each broker they name must be one.
  const reachable = new Set(
    [...advertised.values()].filter(({ host }) => host === "kafka").map(({ host, port }) => `${host}:${port}`)
  )
  for (const [name, svc] of Object.entries(file.services)) {
    const brokers = svc.environment?.KAFKA_BROKERS
    if (brokers === undefined) continue
    for (const broker of brokersOf(brokers)) {
      if (!reachable.has(broker)) {
        problems.push(`${name}: KAFKA_BROKERS entry '${broker}' is not an address kafka advertises to containers`)
      }
    }
  }
  return problems
}

const workerCommand = ["node", "packages/workers/dist/main.js"] as const

/** The worker: the api's image, its own settings, waiting for its dependencies, stopped after its shutdown. */
const workerProblems = (file: ComposeFile): ReadonlyArray<string> => {
  const worker = file.services.worker
  if (worker === undefined) return ["no 'worker' service"]
  const api = file.services.api
  const problems: Array<string> = []
  if (!Array.isArray(worker.command) || JSON.stringify(worker.command) !== JSON.stringify(workerCommand)) {
    problems.push(`worker: command must be ${JSON.stringify(workerCommand)} (exec form: node as PID 1)`)
  }
  if (api !== undefined && (worker.image !== api.image || JSON.stringify(worker.build) !== JSON.stringify(api.build))) {
    problems.push("worker: must run the api's image (the same image and build)")
  }

  const environment = worker.environment ?? {}
  for (const name of Object.keys(environment)) {
    if (!workerSettings.has(name))
      problems.push(`worker: environment variable ${name} is not a setting the worker reads`)
  }
  problems.push(...reachProblems(file, "worker", ["DATABASE_URL", "KAFKA_BROKERS", "OTEL_EXPORTER_OTLP_ENDPOINT"]))
  if (api !== undefined && environment.DATABASE_URL !== api.environment?.DATABASE_URL) {
    problems.push("worker: DATABASE_URL must be the api's (one database, one outbox)")
  }
  const waits = new Map(dependencies(worker))
  for (const [target, why] of [
    ["postgres", ""],
    ["kafka", ""],
    ["api", " (it runs the migrations and listens only once they are done)"]
  ] as const) {
    if (waits.get(target) !== "service_healthy") problems.push(`worker: must wait for '${target}' to be healthy${why}`)
  }

  const resolved = resolveWith(WorkerSettings, environment)
  if (Either.isLeft(resolved)) return [...problems, `worker: environment does not parse: ${String(resolved.left)}`]
  const settings = resolved.right

  const port = String(settings.probes.port)
  if (!(worker.ports ?? []).some((mapping) => mapping.split(":")[1] === port)) {
    problems.push(`worker: the container port ${port} (WORKER_PORT) is not published`)
  }
  if (!healthcheckText(worker).includes(`:${port}/health/ready`)) {
    problems.push(`worker: the healthcheck must GET /health/ready on WORKER_PORT (${port})`)
  }

  const shutdown =
    Math.max(Duration.toMillis(settings.http.shutdownGrace), workerStopMillis.consumers, workerStopMillis.relay) +
    workerStopMillis.spanFlush
  const stopGrace = stopGraceMillis(worker)
  if (stopGrace === undefined || stopGrace <= shutdown) {
    problems.push(
      `worker: stop_grace_period (${worker.stop_grace_period ?? "10s default"}) must exceed its shutdown: the longest of SHUTDOWN_GRACE_PERIOD and the consumers' and relay's 10 s, plus the 5 s span flush (${shutdown / 1000} s)`
    )
  }
  return problems
}

/** Both processes export traces over OTLP/HTTP to jaeger, under names that tell them apart. */
const telemetryProblems = (file: ComposeFile): ReadonlyArray<string> => {
  const jaeger = file.services.jaeger
  if (jaeger === undefined) return ["no 'jaeger' service"]
  const problems: Array<string> = []
  if (jaeger.environment?.COLLECTOR_OTLP_ENABLED !== "true")
    problems.push("jaeger: COLLECTOR_OTLP_ENABLED must be true")
  if (!(jaeger.ports ?? []).includes("4318:4318")) problems.push("jaeger: OTLP/HTTP (4318) is not published")
  const serviceNames = new Map<string, string>()
  for (const name of ["api", "worker"]) {
    const environment = file.services[name]?.environment ?? {}
    const endpoint = environment.OTEL_EXPORTER_OTLP_ENDPOINT
    const url = endpoint !== undefined && URL.canParse(endpoint) ? new URL(endpoint) : undefined
    if (url?.protocol !== "http:" || url.hostname !== "jaeger" || url.port !== "4318") {
      problems.push(
        `${name}: OTEL_EXPORTER_OTLP_ENDPOINT must be http://jaeger:4318 (OTLP/HTTP), not '${endpoint ?? "unset"}'`
      )
    }
    const serviceName = environment.OTEL_SERVICE_NAME ?? "notification-service"
    const other = serviceNames.get(serviceName)
    if (other !== undefined) problems.push(`${name}: OTEL_SERVICE_NAME '${serviceName}' is also ${other}'s`)
    serviceNames.set(serviceName, name)
  }
  return problems
}

const composeProblems = (value: unknown): ReadonlyArray<string> => {
  const structural = validate(composeSchema, value)
  if (structural.length > 0 || !isComposeFile(value)) return structural
  return [
    ...dependsOnProblems(value),
    ...volumeProblems(value),
    ...hostPortProblems(value),
    ...apiProblems(value),
    ...kafkaProblems(value),
    ...workerProblems(value),
    ...telemetryProblems(value)
  ]
}

// ---------------------------------------------------------------------------------------------
// Dockerfile: instructions grouped by stage.
// ---------------------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string
  readonly args: string
  readonly line: number
}

interface Stage {
  readonly name: string | undefined
  readonly base: string
  readonly instructions: ReadonlyArray<Instruction>
}

/** Joins `\` continuations and drops comments (also those inside a continuation, as Docker does). */
const parseInstructions = (text: string): ReadonlyArray<Instruction> => {
  const instructions: Array<Instruction> = []
  let pending: { text: string; line: number } | undefined
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim()
    if (trimmed.startsWith("#") || (trimmed === "" && pending === undefined)) return
    const continued = trimmed.endsWith("\\")
    const piece = continued ? trimmed.slice(0, -1).trim() : trimmed
    pending =
      pending === undefined ? { text: piece, line: index + 1 } : { ...pending, text: `${pending.text} ${piece}` }
    if (!continued) {
      const [keyword = "", ...rest] = pending.text.split(/\s+/)
      instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(" "), line: pending.line })
      pending = undefined
    }
  })
  return instructions
}

const parseDockerfile = (text: string): ReadonlyArray<Stage> => {
  const stages: Array<{ name: string | undefined; base: string; instructions: Array<Instruction> }> = []
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith("--"))
      const as = words.findIndex((word) => word.toUpperCase() === "AS")
      stages.push({ name: as >= 0 ? words[as + 1] : undefined, base: words[0] ?? "", instructions: [] })
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return stages
}

/** The JSON array of an exec-form CMD/ENTRYPOINT; undefined for the shell form. */
const execForm = (args: string): ReadonlyArray<string> | undefined => {
  try {
    const value: unknown = JSON.parse(args)
    return Array.isArray(value) && value.every((item) => typeof item === "string") ? value : undefined
  } catch {
    return undefined
  }
}

const flag = (args: string, name: string): string | undefined => new RegExp(`--${name}=(\\S+)`).exec(args)?.[1]

/** Sources and destination of a COPY, flags removed (exec/JSON form included). */
const copyParts = (args: string): { readonly sources: ReadonlyArray<string>; readonly destination: string } => {
  const words = args.trim().startsWith("[")
    ? (JSON.parse(args.replace(/^(--\S+\s+)*/, "")) as Array<string>)
    : args.split(/\s+/).filter((word) => !word.startsWith("--"))
  return { sources: words.slice(0, -1), destination: words.at(-1) ?? "" }
}

const workdirOf = (stage: Stage): string =>
  stage.instructions
    .filter((i) => i.keyword === "WORKDIR")
    .at(-1)
    ?.args.replace(/\/+$/, "") ?? ""

const runs = (stage: Stage, pattern: RegExp): ReadonlyArray<Instruction> =>
  stage.instructions.filter((i) => i.keyword === "RUN" && pattern.test(i.args))

/** Files npm ci reads; copying anything else before it invalidates the dependency layer on every edit. */
const isManifest = (source: string): boolean => /(^|\/)(package\.json|package-lock\.json|\.npmrc)$/.test(source)

const isRootUser = (user: string): boolean => /^(root|0)(:.*)?$/.test(user.trim())

/** Relative path of a source inside the stage's WORKDIR (`/app/packages/x` -> `packages/x`). */
const relativeTo = (workdir: string, source: string): string =>
  source === workdir || source === `${workdir}/`
    ? "."
    : source.startsWith(`${workdir}/`)
      ? source.slice(workdir.length + 1)
      : source

/** Whether `stage` ends up with `path` (relative to its WORKDIR), copied directly or inside a copied parent. */
const stageHas = (stages: ReadonlyArray<Stage>, stage: Stage, path: string): boolean =>
  stage.instructions.some((instruction) => {
    if (instruction.keyword !== "COPY") return false
    const from = flag(instruction.args, "from")
    const { sources } = copyParts(instruction.args)
    if (from === undefined) return sources.some((source) => source.replace(/\/+$/, "") === path)
    const origin = stages.find((s) => s.name === from)
    if (origin === undefined) return false
    return sources.some((source) => {
      const relative = relativeTo(workdirOf(origin), source.replace(/\/+$/, ""))
      if (relative === ".") return stageHas(stages, origin, path)
      return path === relative || path.startsWith(`${relative}/`)
    })
  })

const dockerfileProblems = (text: string, workspaces: ReadonlyArray<string>): ReadonlyArray<string> => {
  const stages = parseDockerfile(text)
  const problems: Array<string> = []
  const final = stages.at(-1)
  if (stages.length < 2 || final === undefined) return ["the Dockerfile must be multi-stage (more than one FROM)"]

  stages.forEach((stage, index) => {
    const earlier = stages.slice(0, index).map((s) => s.name)
    if (stage.base !== "node:24-bookworm-slim" && !earlier.includes(stage.base)) {
      problems.push(`stage ${stage.name ?? index}: base '${stage.base}' is not node:24-bookworm-slim`)
    }
  })

  const users = final.instructions.filter((i) => i.keyword === "USER")
  const user = users.at(-1)
  if (user === undefined) problems.push("final stage: no USER, so the process runs as root")
  else if (isRootUser(user.args)) problems.push(`final stage: USER ${user.args} is root`)

  const healthchecks = final.instructions.filter((i) => i.keyword === "HEALTHCHECK")
  const healthcheck = healthchecks.at(-1)
  if (healthcheck === undefined || /^NONE\b/i.test(healthcheck.args)) problems.push("final stage: no HEALTHCHECK")
  else if (!/CMD\s+\[\s*"node"/.test(healthcheck.args) || !healthcheck.args.includes("/health/live")) {
    problems.push("final stage: the HEALTHCHECK must GET /health/live with node itself (no curl in slim images)")
  } else if (!healthcheck.args.includes("WORKER_PORT")) {
    problems.push("final stage: the HEALTHCHECK must also pass for the worker (WORKER_PORT), which runs this image too")
  }

  // Dependencies in the final image: installed there, or copied from another stage's node_modules.
  const carriers = new Set<Stage>([final])
  for (const instruction of final.instructions.filter((i) => i.keyword === "COPY")) {
    const origin = stages.find((s) => s.name === flag(instruction.args, "from"))
    if (origin === undefined) continue
    const carriesModules = copyParts(instruction.args).sources.some((source) => {
      const relative = relativeTo(workdirOf(origin), source.replace(/\/+$/, ""))
      return relative === "." || relative === "node_modules" || relative.endsWith("/node_modules")
    })
    if (carriesModules) carriers.add(origin)
  }
  for (const stage of carriers) {
    const label =
      stage === final ? "final stage" : `stage ${stage.name ?? "?"} (its node_modules reach the final image)`
    for (const run of runs(stage, /\bnpm\s+(ci|install|i)\b/)) {
      if (!/\bnpm\s+ci\b/.test(run.args))
        problems.push(`${label}: line ${run.line} installs with npm install, not npm ci`)
      else if (!/--omit=dev\b/.test(run.args))
        problems.push(`${label}: line ${run.line} runs npm ci without --omit=dev`)
    }
  }

  // Layer caching: every workspace manifest is copied before the first npm ci of each installing stage.
  for (const stage of stages) {
    const install = stage.instructions.findIndex((i) => i.keyword === "RUN" && /\bnpm\s+ci\b/.test(i.args))
    if (install < 0) continue
    const before = { ...stage, instructions: stage.instructions.slice(0, install) }
    for (const manifest of ["package.json", "package-lock.json", ...workspaces.map((w) => `${w}/package.json`)]) {
      if (!stageHas(stages, before, manifest)) {
        problems.push(`stage ${stage.name ?? "?"}: ${manifest} is not copied before npm ci`)
      }
    }
    const early = before.instructions.filter((i) => i.keyword === "COPY" && flag(i.args, "from") === undefined)
    if (early.some((i) => copyParts(i.args).sources.some((source) => !isManifest(source)))) {
      problems.push(`stage ${stage.name ?? "?"}: sources are copied before npm ci, defeating the layer cache`)
    }
  }
  if (!stages.some((stage) => runs(stage, /\bnpm\s+run\s+build\b/).length > 0))
    problems.push("no stage runs npm run build")

  // The workspace symlinks in node_modules need each package's manifest and compiled output.
  for (const workspace of workspaces) {
    for (const path of [`${workspace}/package.json`, `${workspace}/dist`]) {
      if (!stageHas(stages, final, path)) problems.push(`final stage: ${path} is missing`)
    }
  }

  const env = final.instructions.filter((i) => i.keyword === "ENV").map((i) => i.args)
  if (!env.some((args) => /\bNODE_ENV[= ]production\b/.test(args)))
    problems.push("final stage: NODE_ENV is not production")
  if (!final.instructions.some((i) => i.keyword === "EXPOSE" && /\b3000\b/.test(i.args))) {
    problems.push("final stage: EXPOSE 3000 is missing")
  }
  const stopSignal = final.instructions.filter((i) => i.keyword === "STOPSIGNAL").at(-1)
  if (stopSignal?.args !== "SIGTERM") problems.push("final stage: STOPSIGNAL must be SIGTERM")
  const cmd = final.instructions.filter((i) => i.keyword === "CMD").at(-1)
  if (JSON.stringify(execForm(cmd?.args ?? "")) !== JSON.stringify(["node", "packages/server/dist/main.js"])) {
    problems.push('final stage: CMD must be the exec form ["node", "packages/server/dist/main.js"] (node as PID 1)')
  }
  return problems
}

/** .dockerignore globs: `*` and `?` stay within a path segment, a `**` segment spans zero or more directories. */
const globToRegExp = (glob: string): RegExp => {
  let source = ""
  for (let index = 0; index < glob.length; index++) {
    if (glob.startsWith("**/", index)) {
      source += "(?:.*/)?"
      index += 2
    } else if (glob.startsWith("**", index)) {
      source += ".*"
      index += 1
    } else {
      const char = glob.charAt(index)
      source += char === "*" ? "[^/]*" : char === "?" ? "[^/]" : char.replace(/[.+^${}()|[\]\\]/, "\\$&")
    }
  }
  return new RegExp(`^${source}$`)
}

/** Context paths the Dockerfile COPYs that a .dockerignore pattern would drop (last match wins). */
const ignoredCopySources = (dockerfile: string, dockerignore: string): ReadonlyArray<string> => {
  const patterns = dockerignore
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!")
      return { negated, regex: globToRegExp((negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, "")) }
    })
  const ignored = (path: string): boolean => {
    const segments = path.split("/")
    return segments.some((_, index) => {
      const prefix = segments.slice(0, index + 1).join("/")
      const last = patterns.filter((pattern) => pattern.regex.test(prefix)).at(-1)
      return last !== undefined && !last.negated
    })
  }
  return parseDockerfile(dockerfile)
    .flatMap((stage) => stage.instructions)
    .filter((i) => i.keyword === "COPY" && flag(i.args, "from") === undefined)
    .flatMap((i) => copyParts(i.args).sources)
    .map((source) => source.replace(/\/+$/, ""))
    .filter(ignored)
}

// ---------------------------------------------------------------------------------------------

const workspaces: ReadonlyArray<string> =
  isRecord(rootManifest) && Array.isArray(rootManifest.workspaces)
    ? rootManifest.workspaces.filter((w): w is string => typeof w === "string")
    : []

const compose: unknown = parse(composeText)

const loadCompose = (): ComposeFile => {
  if (!isComposeFile(compose)) throw new Error(validate(composeSchema, compose).join("\n"))
  return compose
}

const serviceOf = (file: ComposeFile, name: string): ComposeService => {
  const svc = file.services[name]
  if (svc === undefined) throw new Error(`no service ${name}`)
  return svc
}

/** A deep copy of the real compose file with one change. */
const composeWith = (change: (file: ComposeFile) => void): ComposeFile => {
  const copy = structuredClone(loadCompose())
  change(copy)
  return copy
}

/** The real Dockerfile with one textual change; fails if the change did not apply. */
const dockerfileWith = (search: string | RegExp, replacement: string): string => {
  const changed = dockerfileText.replace(search, replacement)
  if (changed === dockerfileText) throw new Error(`'${search}' not found in the Dockerfile`)
  return changed
}

describe("docker-compose.yml", () => {
  it("matches the structural schema", () => {
    expect(validate(composeSchema, compose)).toEqual([])
  })

  it("has only services, volumes, networks and name at the top level", () => {
    const allowed = ["services", "volumes", "networks", "name"]
    expect(isRecord(compose)).toBe(true)
    expect(Object.keys(isRecord(compose) ? compose : {}).filter((key) => !allowed.includes(key))).toEqual([])
  })

  it("runs postgres, redis, jaeger, kafka, the api and the worker", () => {
    const file = loadCompose()
    expect(Object.keys(file.services).sort()).toEqual(["api", "jaeger", "kafka", "postgres", "redis", "worker"])
    expect(serviceOf(file, "postgres").image).toMatch(/^postgres:16\b/)
    expect(serviceOf(file, "postgres").environment?.POSTGRES_DB).toBe("notifications")
    expect(serviceOf(file, "redis").image).toMatch(/^redis:7\b/)
    expect(serviceOf(file, "jaeger").image).toMatch(/^jaegertracing\/all-in-one\b/)
    expect(serviceOf(file, "jaeger").environment?.COLLECTOR_OTLP_ENABLED).toBe("true")
    expect(serviceOf(file, "jaeger").ports).toEqual(expect.arrayContaining(["16686:16686", "4318:4318"]))
    expect(serviceOf(file, "kafka").image).toMatch(/^apache\/kafka:3\.8\./)
    expect(serviceOf(file, "kafka").ports).toContain("9092:9092")
    expect(serviceOf(file, "api").ports).toContain("3000:3000")
    expect(serviceOf(file, "worker").ports).toContain("3001:3001")
  })

  it("resolves every depends_on, volume and host port", () => {
    const file = loadCompose()
    expect([...dependsOnProblems(file), ...volumeProblems(file), ...hostPortProblems(file)]).toEqual([])
    expect(dependencies(serviceOf(file, "api"))).toEqual(
      expect.arrayContaining([
        ["postgres", "service_healthy"],
        ["redis", "service_healthy"]
      ])
    )
    expect(dependencies(serviceOf(file, "worker"))).toEqual(
      expect.arrayContaining([
        ["postgres", "service_healthy"],
        ["kafka", "service_healthy"],
        ["api", "service_healthy"],
        ["jaeger", "service_started"]
      ])
    )
  })

  it("configures the api with settings the service reads, and stops it after its drain", () => {
    expect(apiProblems(loadCompose())).toEqual([])
  })

  it("runs one KRaft Kafka node that the api and the worker reach on its advertised address", () => {
    expect(kafkaProblems(loadCompose())).toEqual([])
  })

  it("runs the worker from the api's image with settings the worker reads, and stops it after its shutdown", () => {
    expect(workerProblems(loadCompose())).toEqual([])
  })

  it("sends the api's and the worker's traces to jaeger over OTLP/HTTP", () => {
    expect(telemetryProblems(loadCompose())).toEqual([])
  })

  it("runs a worker entry point that the image contains", () => {
    const worker = serviceOf(loadCompose(), "worker")
    const entry = Array.isArray(worker.command) ? (worker.command[1] ?? "") : ""
    const stages = parseDockerfile(dockerfileText)
    const final = stages.at(-1)
    expect(entry).toBe("packages/workers/dist/main.js")
    expect(final !== undefined && stageHas(stages, final, entry)).toBe(true)
    expect(existsSync(new URL("../packages/workers/src/main.ts", import.meta.url))).toBe(true)
  })

  it("builds the api from this repository's Dockerfile", () => {
    const api = serviceOf(loadCompose(), "api")
    const dockerfile = typeof api.build === "object" ? (api.build.dockerfile ?? "Dockerfile") : "Dockerfile"
    expect(existsSync(new URL(`../${dockerfile}`, import.meta.url))).toBe(true)
    const target = typeof api.build === "object" ? api.build.target : undefined
    if (target !== undefined) expect(parseDockerfile(dockerfileText).at(-1)?.name).toBe(target)
  })
})

describe("Dockerfile", () => {
  it("reads the workspaces from package.json", () => {
    expect(workspaces.length).toBeGreaterThan(0)
  })

  it("is multi-stage, non-root, health-checked and installs only production dependencies in the image", () => {
    expect(parseDockerfile(dockerfileText).length).toBeGreaterThan(1)
    expect(dockerfileProblems(dockerfileText, workspaces)).toEqual([])
  })

  it("sends every file it COPYs from the context (.dockerignore drops none of them)", () => {
    expect(ignoredCopySources(dockerfileText, dockerignoreText)).toEqual([])
    for (const pattern of ["**/node_modules", "**/dist", ".env", ".data"]) {
      expect(dockerignoreText.split(/\r?\n/)).toContain(pattern)
    }
  })
})

describe("the checks reject broken files", () => {
  const composeCases: ReadonlyArray<readonly [string, (file: ComposeFile) => void, RegExp]> = [
    ["an unknown top-level key", (f) => Object.assign(f, { version: "3.9" }), /unexpected property 'version'/],
    [
      "a service with neither image nor build",
      (f) => Object.assign(f.services, { idle: {} }),
      /needs 'image' or 'build'/
    ],
    ["a port without a host side", (f) => Object.assign(serviceOf(f, "api"), { ports: ["3000"] }), /does not match/],
    [
      "a dependency on a missing service",
      (f) => Object.assign(serviceOf(f, "api"), { depends_on: { zookeeper: { condition: "service_started" } } }),
      /undefined service 'zookeeper'/
    ],
    [
      "waiting for a service without a healthcheck",
      (f) => Object.assign(serviceOf(f, "api"), { depends_on: { jaeger: { condition: "service_healthy" } } }),
      /has no healthcheck/
    ],
    [
      "a healthcheck without test",
      (f) => Object.assign(serviceOf(f, "redis"), { healthcheck: { interval: "5s" } }),
      /'test'/
    ],
    [
      "an undeclared named volume",
      (f) => Object.assign(serviceOf(f, "postgres"), { volumes: ["pgdata:/var/lib/postgresql/data"] }),
      /'pgdata' is not declared/
    ],
    [
      "an api variable the service does not read",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { DB_HOST: "postgres" }),
      /DB_HOST is not a setting/
    ],
    [
      "a non-string environment value",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { RUN_MIGRATIONS: true }),
      /expected a string/
    ],
    [
      "a shutdown setting that does not parse",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { SHUTDOWN_GRACE_PERIOD: "20s" }),
      /does not parse/
    ],
    [
      "a stop_grace_period shorter than the drain",
      (f) => Object.assign(serviceOf(f, "api"), { stop_grace_period: "15s" }),
      /must exceed/
    ],
    [
      "a drain longer than stop_grace_period",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { SHUTDOWN_GRACE_PERIOD: "45 seconds" }),
      /must exceed/
    ],
    [
      "a database URL that is not a compose service",
      (f) =>
        Object.assign(serviceOf(f, "api").environment ?? {}, {
          DATABASE_URL: "postgres://u:p@localhost:5432/notifications"
        }),
      /DATABASE_URL must point at a compose service/
    ],
    [
      "a malformed API_KEYS entry",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { API_KEYS: "only-an-id" }),
      /API_KEYS entry 1/
    ],
    [
      "a host port published twice",
      (f) => Object.assign(serviceOf(f, "redis"), { ports: ["3000:6379"] }),
      /already published/
    ],
    [
      "a worker-only setting on the api",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { WORKER_PORT: "3001" }),
      /api: environment variable WORKER_PORT is not a setting the server reads/
    ],
    [
      "a server-only setting on the worker",
      (f) => Object.assign(serviceOf(f, "worker").environment ?? {}, { API_KEYS: "a:b:*" }),
      /worker: environment variable API_KEYS is not a setting the worker reads/
    ],
    [
      "an api that still dispatches in-process",
      (f) => {
        delete serviceOf(f, "api").environment?.KAFKA_BROKERS
      },
      /dispatches in-process although the worker runs/
    ],
    [
      "a worker without KAFKA_BROKERS",
      (f) => {
        delete serviceOf(f, "worker").environment?.KAFKA_BROKERS
      },
      /worker: KAFKA_BROKERS must be set/
    ],
    [
      "a broker address kafka advertises to the host only",
      (f) => Object.assign(serviceOf(f, "worker").environment ?? {}, { KAFKA_BROKERS: "kafka:9092" }),
      /'kafka:9092' is not an address kafka advertises to containers/
    ],
    [
      "a worker that does not wait for kafka",
      (f) => {
        const deps = serviceOf(f, "worker").depends_on
        if (deps !== undefined && !Array.isArray(deps)) delete deps.kafka
      },
      /KAFKA_BROKERS points at 'kafka', which worker does not depend on/
    ],
    [
      "a worker that starts before the migrations",
      (f) => {
        const deps = serviceOf(f, "worker").depends_on
        if (deps !== undefined && !Array.isArray(deps)) deps.api = { condition: "service_started" }
      },
      /must wait for 'api' to be healthy/
    ],
    [
      "a worker waiting for a kafka without healthcheck",
      (f) => {
        delete serviceOf(f, "kafka").healthcheck
      },
      /waits for 'kafka' to be healthy, but 'kafka' has no healthcheck/
    ],
    [
      "a worker running the server",
      (f) => Object.assign(serviceOf(f, "worker"), { command: ["node", "packages/server/dist/main.js"] }),
      /worker: command must be/
    ],
    [
      "a worker on another database",
      (f) =>
        Object.assign(serviceOf(f, "worker").environment ?? {}, {
          DATABASE_URL: "postgres://postgres:postgres@postgres:5432/other"
        }),
      /DATABASE_URL must be the api's/
    ],
    [
      "a worker probed on the api's port",
      (f) =>
        Object.assign(serviceOf(f, "worker"), {
          healthcheck: { test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:3000/health/ready')"] }
        }),
      /healthcheck must GET \/health\/ready on WORKER_PORT/
    ],
    [
      "a worker stop_grace_period shorter than its shutdown",
      (f) => Object.assign(serviceOf(f, "worker"), { stop_grace_period: "20s" }),
      /worker: stop_grace_period \(20s\) must exceed/
    ],
    [
      "a worker drain longer than its stop_grace_period",
      (f) => Object.assign(serviceOf(f, "worker").environment ?? {}, { SHUTDOWN_GRACE_PERIOD: "30 seconds" }),
      /worker: stop_grace_period .* must exceed/
    ],
    [
      "a worker not exporting traces",
      (f) => {
        delete serviceOf(f, "worker").environment?.OTEL_EXPORTER_OTLP_ENDPOINT
      },
      /worker: OTEL_EXPORTER_OTLP_ENDPOINT must be http:\/\/jaeger:4318/
    ],
    [
      "traces to jaeger's OTLP/gRPC port",
      (f) =>
        Object.assign(serviceOf(f, "api").environment ?? {}, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4317" }),
      /api: OTEL_EXPORTER_OTLP_ENDPOINT must be http:\/\/jaeger:4318/
    ],
    [
      "both processes under one service name",
      (f) => Object.assign(serviceOf(f, "worker").environment ?? {}, { OTEL_SERVICE_NAME: "notification-service" }),
      /OTEL_SERVICE_NAME 'notification-service' is also api's/
    ],
    [
      "a ZooKeeper-mode kafka",
      (f) =>
        Object.assign(serviceOf(f, "kafka").environment ?? {}, {
          KAFKA_PROCESS_ROLES: "broker",
          KAFKA_ZOOKEEPER_CONNECT: "zookeeper:2181"
        }),
      /one KRaft node/
    ],
    [
      "a quorum voter on the wrong port",
      (f) => Object.assign(serviceOf(f, "kafka").environment ?? {}, { KAFKA_CONTROLLER_QUORUM_VOTERS: "1@kafka:9092" }),
      /KAFKA_CONTROLLER_QUORUM_VOTERS must be 1@kafka:9093/
    ],
    [
      "internal topics needing three brokers",
      (f) => Object.assign(serviceOf(f, "kafka").environment ?? {}, { KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "3" }),
      /KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR must be 1/
    ],
    [
      "a host listener whose port is not published",
      (f) => Object.assign(serviceOf(f, "kafka"), { ports: [] }),
      /advertised as localhost:9092, but that port is not published/
    ]
  ]

  for (const [name, change, expected] of composeCases) {
    it(`compose: ${name}`, () => {
      const problems = composeProblems(composeWith(change))
      expect(
        problems.some((problem) => expected.test(problem)),
        problems.join("\n")
      ).toBe(true)
    })
  }

  const dockerfileCases: ReadonlyArray<readonly [string, () => string, RegExp]> = [
    ["a single stage", () => dockerfileText.split(/^FROM .* AS prod-deps$/m)[0] ?? "", /multi-stage/],
    ["USER root in the final stage", () => `${dockerfileText}\nUSER root\n`, /USER root is root/],
    ["no USER", () => dockerfileWith(/^USER node$/m, ""), /no USER/],
    ["no HEALTHCHECK", () => dockerfileWith(/^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, ""), /no HEALTHCHECK/],
    [
      "a curl HEALTHCHECK",
      () => `${dockerfileText}\nHEALTHCHECK CMD curl -f http://127.0.0.1:3000/health/live\n`,
      /with node itself/
    ],
    [
      "npm ci with dev dependencies in the final stage",
      () => `${dockerfileText}\nRUN npm ci\n`,
      /final stage: .* without --omit=dev/
    ],
    [
      "production dependencies copied from a stage that installs dev dependencies",
      () => dockerfileWith("npm ci --omit=dev", "npm ci"),
      /stage prod-deps .* without --omit=dev/
    ],
    [
      "a missing workspace dist",
      () => dockerfileWith(/^COPY --from=build \/app\/packages\/core\/dist.*\n/m, ""),
      /core\/dist is missing/
    ],
    [
      "sources copied before npm ci",
      () =>
        dockerfileWith(
          "COPY package.json package-lock.json ./",
          "COPY packages/ packages/\nCOPY package.json package-lock.json ./"
        ),
      /before npm ci/
    ],
    [
      "a shell-form CMD",
      () => dockerfileWith('CMD ["node", "packages/server/dist/main.js"]', "CMD npm start"),
      /exec form/
    ],
    [
      "a HEALTHCHECK that fails for the worker",
      () => dockerfileWith(/Promise\.any\(\[[^\]]*\]\)/, "live(process.env.PORT||3000)"),
      /also pass for the worker/
    ],
    [
      "another base image",
      () => dockerfileWith("FROM node:24-bookworm-slim AS runtime", "FROM node:24 AS runtime"),
      /not node:24-bookworm-slim/
    ]
  ]

  for (const [name, variant, expected] of dockerfileCases) {
    it(`Dockerfile: ${name}`, () => {
      const problems = dockerfileProblems(variant(), workspaces)
      expect(
        problems.some((problem) => expected.test(problem)),
        problems.join("\n")
      ).toBe(true)
    })
  }

  it(".dockerignore: a pattern dropping a copied file", () => {
    expect(ignoredCopySources(dockerfileText, `${dockerignoreText}\n*.json\n`)).toContain("package.json")
    expect(ignoredCopySources(dockerfileText, `${dockerignoreText}\npackages\n`)).toContain(
      "packages/core/package.json"
    )
  })
})
