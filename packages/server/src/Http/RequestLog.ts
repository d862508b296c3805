import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { makeUuidv7, withCorrelation } from "@notification-service/core"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import { Lifecycle } from "../Lifecycle.js"

const requests = Metric.counter("http_requests_total", {
  description: "HTTP requests served, by method, route and status.",
  incremental: true
})

const duration = Metric.histogram(
  "http_request_duration_seconds",
  MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 12 }),
  "HTTP request latency in seconds, by method and route."
)

const validRequestId = /^[\w.:-]{1,128}$/

const isProbe = (path: string) => path.startsWith("/health/") || path === "/metrics"

/**
 * Outermost middleware (inside the tracer's server span): accepts or generates `X-Request-Id`,
 * echoes it, asks clients to close connections while draining, and writes one JSON log line and
 * the HTTP metrics per request.
 */
export const requestLog = <E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const lifecycle = yield* Lifecycle
    const start = yield* Clock.currentTimeNanos
    const incoming = request.headers["x-request-id"]
    const requestId = incoming !== undefined && validRequestId.test(incoming) ? incoming : yield* makeUuidv7
    const span = Option.getOrUndefined(yield* Effect.option(Effect.currentSpan))
    const draining = yield* lifecycle.isDraining
    yield* HttpApp.appendPreResponseHandler((_request, response) =>
      Effect.succeed(
        HttpServerResponse.setHeaders(
          response,
          draining ? { "x-request-id": requestId, connection: "close" } : { "x-request-id": requestId }
        )
      )
    )
    span?.attribute("http.request_id", requestId)
    const exit = yield* Effect.exit(
      app.pipe(
        Effect.annotateLogs("request_id", requestId),
        withCorrelation({ correlationId: requestId, causationId: null })
      )
    )
    const status = Exit.isSuccess(exit) ? exit.value.status : 500
    const path = request.url.split("?")[0] ?? request.url
    const routeAttribute = span?.attributes.get("http.route")
    const route = typeof routeAttribute === "string" ? routeAttribute : isProbe(path) ? path : "unmatched"
    const seconds = Number((yield* Clock.currentTimeNanos) - start) / 1e9
    const labels = [MetricLabel.make("method", request.method), MetricLabel.make("route", route)]
    yield* Metric.increment(Metric.taggedWithLabels(requests, [...labels, MetricLabel.make("status", String(status))]))
    yield* Metric.update(Metric.taggedWithLabels(duration, labels), seconds)
    const log = isProbe(path) ? Effect.logDebug("http request") : Effect.logInfo("http request")
    yield* log.pipe(
      Effect.annotateLogs({
        method: request.method,
        route,
        path,
        status,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        request_id: requestId,
        trace_id: span?.traceId ?? null
      })
    )
    return yield* exit
  })
