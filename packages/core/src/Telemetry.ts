import { NodeSdk } from "@effect/opentelemetry"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Config from "effect/Config"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import { TelemetryConfig } from "./AppConfig.js"
import * as PrometheusText from "./PrometheusText.js"

/** Prometheus text exposition of every Effect metric, for our own `/metrics` route. */
export class MetricsScraper extends Context.Tag("core/MetricsScraper")<
  MetricsScraper,
  { readonly scrape: Effect.Effect<string> }
>() {}

/**
 * Traces go to `OTEL_EXPORTER_OTLP_ENDPOINT` (OTLP/HTTP) when it is set; spans are still created
 * without it, so `traceparent` propagation and log correlation work everywhere.
 */
export const TelemetryLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* TelemetryConfig
    const scraper = Layer.succeed(MetricsScraper, { scrape: PrometheusText.scrape })
    const sdk = NodeSdk.layer(() => ({
      resource: { serviceName: config.serviceName },
      spanProcessor: Option.match(config.otlpEndpoint, {
        onNone: () => undefined,
        onSome: (endpoint) =>
          new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, "")}/v1/traces` }))
      }),
      shutdownTimeout: "5 seconds"
    }))
    return Layer.merge(sdk, scraper)
  })
)

/** One JSON object per line, at `LOG_LEVEL` and above. */
export const LoggingLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const level = yield* Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
    return Layer.merge(Logger.json, Logger.minimumLogLevel(level))
  })
)
