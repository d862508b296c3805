import { createServer } from "node:http"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { MetricsScraper, PrometheusText } from "@notification-service/core"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

export const WorkerHttpConfig = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  port: Config.integer("WORKER_PORT").pipe(Config.withDefault(3001))
})

/** Probes and metrics of a process without the API (the worker, the bridge), for the orchestrator and Prometheus. */
export const healthServer = (httpConfig: Config.Config<{ readonly host: string; readonly port: number }>) =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const config = yield* httpConfig
      const router = HttpRouter.empty.pipe(
        HttpRouter.get("/health/live", HttpServerResponse.json({ status: "pass" })),
        HttpRouter.get(
          "/health/ready",
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            const ok = yield* sql`SELECT 1`.pipe(
              Effect.timeout("2 seconds"),
              Effect.as(true),
              Effect.orElseSucceed(() => false)
            )
            return yield* HttpServerResponse.json(ok ? { status: "pass" } : { status: "fail", failing: ["database"] }, {
              status: ok ? 200 : 503
            })
          })
        ),
        HttpRouter.get(
          "/metrics",
          Effect.flatMap(MetricsScraper, (scraper) => scraper.scrape).pipe(
            Effect.map((text) => HttpServerResponse.text(text, { contentType: PrometheusText.contentType }))
          )
        )
      )
      return HttpServer.serve(router).pipe(
        HttpServer.withLogAddress,
        Layer.provide(NodeHttpServer.layer(createServer, { port: config.port, host: config.host }))
      )
    })
  )

/** The worker's, on `WORKER_PORT`. */
export const WorkerHealthLive = healthServer(WorkerHttpConfig)
