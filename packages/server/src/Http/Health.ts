import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { DeliveryMetrics, MetricsScraper, NotificationRepo, PrometheusText } from "@notification-service/core"
import * as Effect from "effect/Effect"
import { Lifecycle } from "../Lifecycle.js"

type Check = { readonly status: "pass" } | { readonly status: "fail"; readonly detail: string }

const report = (checks: Record<string, Check>) => {
  const failing = Object.entries(checks)
    .filter(([, check]) => check.status === "fail")
    .map(([name]) => name)
  return HttpServerResponse.unsafeJson(
    { status: failing.length === 0 ? "pass" : "fail", failing, checks },
    { status: failing.length === 0 ? 200 : 503, headers: { "cache-control": "no-store" } }
  )
}

/**
 * Probes for the orchestrator. `ready` fails as soon as shutdown begins, so traffic drains away
 * before the listener closes; `startup` passes once migrations are done and the server serves.
 */
export const HealthRoutesLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const lifecycle = yield* Lifecycle
    const scraper = yield* MetricsScraper
    const notifications = yield* NotificationRepo

    const database: Effect.Effect<Check> = sql`SELECT 1`.pipe(
      Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error("timed out after 2s") }),
      Effect.as<Check>({ status: "pass" }),
      Effect.catchAll((error) =>
        Effect.succeed<Check>({ status: "fail", detail: error instanceof Error ? error.message : String(error) })
      )
    )

    const shutdown: Effect.Effect<Check> = Effect.map(lifecycle.phase, (phase) =>
      phase === "draining" ? { status: "fail", detail: "shutting down" } : { status: "pass" }
    )

    yield* router.get("/health/live", Effect.succeed(report({ process: { status: "pass" } })))
    yield* router.get(
      "/health/ready",
      Effect.all({ shutdown, database }, { concurrency: "unbounded" }).pipe(Effect.map(report))
    )
    yield* router.get(
      "/health/startup",
      Effect.map(lifecycle.phase, (phase) =>
        report({ migrations: phase === "starting" ? { status: "fail", detail: "starting" } : { status: "pass" } })
      )
    )
    // Queue sizes are read from the database when scraped, so they are current in every replica
    // whether or not it dispatches; a slow or failing count leaves the last value.
    const refreshQueueSizes = notifications.queueSizes.pipe(
      Effect.flatMap(DeliveryMetrics.recordQueueSizes),
      Effect.timeout("2 seconds"),
      Effect.catchAllCause((cause) => Effect.logWarning("queue sizes unavailable for /metrics", cause))
    )
    yield* router.get(
      "/metrics",
      refreshQueueSizes.pipe(
        Effect.zipRight(scraper.scrape),
        Effect.map((text) => HttpServerResponse.text(text, { contentType: PrometheusText.contentType }))
      )
    )
  })
)
