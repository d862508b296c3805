import { describe, expect, it } from "@effect/vitest"
import { PrometheusText } from "@notification-service/core"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

const only = (prefix: string, text: string) =>
  text
    .split("\n")
    .filter((line) => line.includes(prefix))
    .join("\n")

describe("PrometheusText", () => {
  it.effect("counters, gauges, histograms and summaries in the text format", () =>
    Effect.gen(function* () {
      const counter = Metric.counter("pt_test_requests_total", { description: "Requests.", incremental: true })
      yield* Metric.update(counter.pipe(Metric.tagged("route", '/a"b\\c')), 2)
      const gauge = Metric.gauge("pt_test_in_use", { description: "In use." })
      yield* Metric.set(gauge, 3)
      const histogram = Metric.histogram("pt_test_seconds", MetricBoundaries.fromIterable([0.1, 1]), "Latency.")
      yield* Metric.update(histogram, 0.05)
      yield* Metric.update(histogram, 5)
      const summary = Metric.summary({
        name: "pt_test_duration_seconds",
        description: "Durations.",
        maxAge: "1 minute",
        maxSize: 10,
        error: 0,
        quantiles: [0.5, 0.99]
      })
      yield* Metric.update(summary, 2)
      const text = yield* PrometheusText.scrape

      expect(only("pt_test_requests_total", text)).toBe(
        [
          "# HELP pt_test_requests_total Requests.",
          "# TYPE pt_test_requests_total counter",
          'pt_test_requests_total{route="/a\\"b\\\\c"} 2'
        ].join("\n")
      )
      expect(only("pt_test_in_use", text)).toBe(
        ["# HELP pt_test_in_use In use.", "# TYPE pt_test_in_use gauge", "pt_test_in_use 3"].join("\n")
      )
      expect(only("pt_test_seconds", text)).toBe(
        [
          "# HELP pt_test_seconds Latency.",
          "# TYPE pt_test_seconds histogram",
          'pt_test_seconds_bucket{le="0.1"} 1',
          'pt_test_seconds_bucket{le="1"} 1',
          'pt_test_seconds_bucket{le="+Inf"} 2',
          "pt_test_seconds_sum 5.05",
          "pt_test_seconds_count 2"
        ].join("\n")
      )
      expect(only("pt_test_duration_seconds", text)).toBe(
        [
          "# HELP pt_test_duration_seconds Durations.",
          "# TYPE pt_test_duration_seconds summary",
          'pt_test_duration_seconds{quantile="0.5"} 2',
          'pt_test_duration_seconds{quantile="0.99"} 2',
          "pt_test_duration_seconds_sum 2",
          "pt_test_duration_seconds_count 1"
        ].join("\n")
      )
    })
  )

  it.effect("an incremental counter gets `_total`; a counter that may go down is a gauge", () =>
    Effect.gen(function* () {
      yield* Metric.update(Metric.counter("pt_test_events", { incremental: true }), 1)
      yield* Metric.update(Metric.counter("pt_test_active"), 1)
      const text = yield* PrometheusText.scrape
      expect(text).toContain("# TYPE pt_test_events_total counter\npt_test_events_total 1")
      expect(text).toContain("# TYPE pt_test_active gauge\npt_test_active 1")
    })
  )
})
