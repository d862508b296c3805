import { FetchHttpClient, HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { layer } from "@effect/vitest"
import { DatabaseLive, Dispatcher, type MetricsScraper, TelemetryLive } from "@notification-service/core"
import { makeClient } from "@notification-service/domain"
import { runMigrations } from "@notification-service/migrations"
import { Lifecycle, NodeServerLive, ServicesLive } from "@notification-service/server"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { inject } from "vitest"

/** Keys every test server accepts. `hashed` is configured by its SHA-256 only. */
export const keys = {
  admin: "test-admin-key-0123456789",
  reader: "test-reader-key-0123456789",
  writer: "test-writer-key-0123456789",
  hashed: "test-hashed-key-0123456789"
} as const

// sha256("test-hashed-key-0123456789")
const hashedKeyDigest = "a15e229f46f262635a5c099863ebcb4f517a1dff3c43efb6d78ed950cd15fba4"

export const apiKeysConfig = (hashedDigest: string = hashedKeyDigest) =>
  [
    `admin:${keys.admin}:*`,
    `reader:${keys.reader}:notifications:read,templates:read,preferences:read`,
    `writer:${keys.writer}:notifications:write`,
    `hashed:sha256-${hashedDigest}:templates:read`
  ].join(";")

export interface TestServer {
  readonly baseUrl: string
  readonly lifecycle: Lifecycle
}

export class TestServerInfo extends Effect.Tag("test/TestServerInfo")<TestServerInfo, TestServer>() {}

/**
 * The real server (same layers as `main.ts`) on a random port against the run's test database.
 * Migrations ran once in the global setup.
 */
export const testServer = (
  env: Record<string, string> = {},
  database: "shared" | { readonly dataDir: string } | { readonly url: string } = "shared",
  telemetry: Layer.Layer<MetricsScraper, ConfigError.ConfigError> = TelemetryLive
) => {
  const databaseSettings: ReadonlyArray<readonly [string, string]> =
    database !== "shared" && "url" in database
      ? [
          ["DATABASE_URL", database.url],
          ["DATABASE_POOL_SIZE", "5"],
          ["RUN_MIGRATIONS", "false"]
        ]
      : database === "shared"
        ? [
            ["DATABASE_URL", inject("databaseUrl")],
            ["DATABASE_POOL_SIZE", inject("databaseKind").startsWith("PGlite") ? "1" : "5"],
            ["RUN_MIGRATIONS", "false"]
          ]
        : // A private embedded database (PGlite), migrated at start-up: nobody else's rows.
          [["DATA_DIR", database.dataDir]]
  const config = new Map<string, string>([
    ...databaseSettings,
    ["PORT", "0"],
    ["HOST", "127.0.0.1"],
    ["API_KEYS", apiKeysConfig()],
    ["SHUTDOWN_GRACE_PERIOD", "2 seconds"],
    // Test files share one database: a dispatcher in one server would take every file's
    // notifications. Delivery tests dispatch what they sent, by id.
    ["DISPATCHER_ENABLED", "false"],
    ...Object.entries(env)
  ])
  const info = Layer.effect(
    TestServerInfo,
    Effect.gen(function* () {
      const server = yield* HttpServer.HttpServer
      const lifecycle = yield* Lifecycle
      const address = server.address
      const port = address._tag === "TcpAddress" ? address.port : 0
      return { baseUrl: `http://127.0.0.1:${port}`, lifecycle }
    })
  )
  return info.pipe(
    Layer.provide(NodeServerLive),
    Layer.provideMerge(ServicesLive),
    // Delivery tests dispatch by id what they sent (the loop is off, see above).
    Layer.provideMerge(Dispatcher.Default.pipe(Layer.provide(NodeHttpClient.layerUndici))),
    Layer.provideMerge(Lifecycle.Default),
    Layer.provide(DatabaseLive),
    Layer.provide(telemetry),
    Layer.provide(Logger.minimumLogLevel(LogLevel.Warning)),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(config))),
    Layer.provideMerge(FetchHttpClient.layer)
  )
}

/**
 * Tests sharing one real server. The server runs on the real clock: under the TestClock every row
 * would be created at the epoch.
 */
/** Runs migrations on `url` (a private database) the way the global setup does for the shared one. */
export const migrate = (url: string) =>
  Effect.runPromise(
    runMigrations.pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })), Effect.scoped)
  )

export const withServer = (env: Record<string, string> = {}) =>
  layer(testServer(env), { excludeTestServices: true, timeout: "60 seconds" })

/** Like `withServer`, for a server whose settings depend on resources made first (fake providers). */
export const withServerLayer = <A, E>(server: Layer.Layer<A, E>) =>
  layer(server, { excludeTestServices: true, timeout: "60 seconds" })

/** The typed client of the contract, authenticated with `key`. */
export const client = (key: string = keys.admin) =>
  Effect.gen(function* () {
    const { baseUrl } = yield* TestServerInfo
    return yield* makeClient({
      baseUrl,
      transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(key))
    })
  })

/** Raw HTTP for what the typed client cannot send: bad bodies, missing headers. */
export const raw = (path: string, init: RequestInit = {}) =>
  Effect.gen(function* () {
    const { baseUrl } = yield* TestServerInfo
    const response = yield* Effect.promise(() => fetch(`${baseUrl}${path}`, init))
    const text = yield* Effect.promise(() => response.text())
    const body: unknown =
      text.length > 0 && /json/.test(response.headers.get("content-type") ?? "") ? JSON.parse(text) : text
    return { status: response.status, headers: response.headers, body }
  })

export const authorized = (key: string = keys.admin, headers: Record<string, string> = {}) => ({
  authorization: `Bearer ${key}`,
  ...headers
})

export const json = (method: string, body: unknown, key: string = keys.admin): RequestInit => ({
  method,
  headers: authorized(key, { "content-type": "application/json" }),
  body: JSON.stringify(body)
})

/** Reads the test database directly, to check what the API cannot show (e.g. the outbox). */
export const query = <Row>(text: string, values: ReadonlyArray<unknown> = []) =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const connection = new pg.Client({ connectionString: inject("databaseUrl") })
      await connection.connect()
      return connection
    }),
    (connection) =>
      Effect.promise(() => connection.query(text, [...values]).then((result) => result.rows as Array<Row>)),
    (connection) => Effect.promise(() => connection.end())
  )

/**
 * PGlite (the last-resort test database) is a single session: no row locks between connections
 * and no second database. Tests of those behaviours need a PostgreSQL server.
 */
export const onPglite = inject("databaseKind").startsWith("PGlite")

let counter = 0
/** Distinct per test file and call, so tests sharing one database never see each other's rows. */
export const unique = (prefix: string) =>
  `${prefix}_${process.pid}_${Date.now().toString(36)}_${(counter++).toString(36)}`
export const uniqueUserId = () => Math.floor(Math.random() * 1_000_000_000) + 1
