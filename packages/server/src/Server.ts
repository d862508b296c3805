import { createServer } from "node:http"
import { HttpApiBuilder, HttpApiSwagger, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import {
  DatabaseConfig,
  DatabaseLive,
  DispatcherLive,
  DispatchSignal,
  HttpConfig,
  Idempotency,
  IdempotencyPurgeLive,
  LegacyWrites,
  LoggingLive,
  NotificationRepo,
  Notifications,
  Preferences,
  TelemetryLive,
  Templates
} from "@notification-service/core"
import { NotificationApi } from "@notification-service/domain"
import { runMigrations } from "@notification-service/migrations"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ApiKeysLive } from "./DemoKey.js"
import { ApiMiddlewareLive } from "./Http/ApiMiddleware.js"
import { AuthenticationLive } from "./Http/Authentication.js"
import { HealthRoutesLive } from "./Http/Health.js"
import { LegacyHttpLive } from "./Http/LegacyHttp.js"
import { NotificationsHttpLive } from "./Http/NotificationsHttp.js"
import { PreferencesHttpLive } from "./Http/PreferencesHttp.js"
import { RateLimiterLive } from "./Http/RateLimit.js"
import { requestLog } from "./Http/RequestLog.js"
import { TemplatesHttpLive } from "./Http/TemplatesHttp.js"
import { Lifecycle } from "./Lifecycle.js"

/** The contract implemented: group handlers first, then the middleware they need. */
export const ApiLive = HttpApiBuilder.api(NotificationApi).pipe(
  Layer.provide([NotificationsHttpLive, TemplatesHttpLive, PreferencesHttpLive, LegacyHttpLive]),
  Layer.provide(AuthenticationLive)
)

/** Every route: the API, its docs and spec, probes and metrics, behind the API-wide middleware. */
export const RoutesLive = Layer.mergeAll(
  ApiMiddlewareLive,
  HealthRoutesLive,
  HttpApiSwagger.layer({ path: "/docs" }),
  HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })
).pipe(Layer.provideMerge(ApiLive))

/** What the handlers run on; needs a `SqlClient`. */
export const ServicesLive = Layer.mergeAll(
  Notifications.Default,
  NotificationRepo.Default,
  LegacyWrites.Default,
  IdempotencyPurgeLive,
  Templates.Default,
  Preferences.Default,
  ApiKeysLive,
  RateLimiterLive
).pipe(Layer.provideMerge(Layer.merge(DispatchSignal.Default, Idempotency.Default)))

const MigrationsLive = Layer.effectDiscard(
  Effect.gen(function* () {
    const config = yield* DatabaseConfig
    if (config.runMigrations) yield* runMigrations
    else yield* Effect.logInfo("RUN_MIGRATIONS=false: schema migrations skipped")
  })
)

/**
 * The Node listener. The drain finalizer runs before the platform closes the listener: readiness
 * turns 503, the optional pre-stop delay lets load balancers notice, idle keep-alive connections
 * close, and connections still busy after `SHUTDOWN_GRACE_PERIOD` are cut.
 */
export const NodeServerLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* HttpConfig
    const server = createServer({ keepAliveTimeout: 5_000 })
    // Listen only once migrations are done and the routes exist: the platform listens while
    // building its layer and attaches the handler later, and a request arriving in between hangs.
    const listener = NodeHttpServer.layer(() => server, { port: config.port, host: config.host }).pipe(
      Layer.provide(MigrationsLive)
    )
    const serve = HttpApiBuilder.serve(requestLog).pipe(
      HttpServer.withLogAddress,
      HttpMiddleware.withTracerDisabledWhen(
        (request) => request.url.startsWith("/health/") || request.url === "/metrics"
      ),
      Layer.provideMerge(listener),
      Layer.provide(RoutesLive)
    )
    const drain = Layer.scopedDiscard(
      Effect.gen(function* () {
        const lifecycle = yield* Lifecycle
        const { address } = yield* HttpServer.HttpServer
        yield* lifecycle.serving
        if (address._tag === "TcpAddress") {
          const host = address.hostname === "0.0.0.0" ? "localhost" : address.hostname
          yield* Effect.logInfo(`API docs at http://${host}:${address.port}/docs`)
        }
        yield* Effect.addFinalizer(() =>
          Effect.gen(function* () {
            yield* lifecycle.draining
            yield* Effect.logInfo("shutting down: readiness now fails, draining in-flight requests")
            yield* Effect.sleep(config.preStopDelay)
            server.closeIdleConnections()
            const force = setTimeout(() => server.closeAllConnections(), Duration.toMillis(config.shutdownGrace))
            force.unref()
          })
        )
      })
    )
    // The in-process dispatcher (no Kafka): it starts once the schema is current and stops,
    // finishing the sends in flight, before the database pool closes.
    const dispatcher = DispatcherLive({ drainTimeout: config.shutdownGrace }).pipe(Layer.provide(MigrationsLive))
    return Layer.merge(drain.pipe(Layer.provideMerge(serve)), dispatcher)
  })
)

/** The whole server process: HTTP over the services over the database, with telemetry and logs. */
export const MainLive = NodeServerLive.pipe(
  Layer.provide(ServicesLive),
  Layer.provide(Lifecycle.Default),
  Layer.provide(DatabaseLive),
  Layer.provide(TelemetryLive),
  Layer.provide(LoggingLive)
)
