import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricKey from "effect/MetricKey"
import * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"

/**
 * Effect's metrics in the Prometheus text exposition format (0.0.4). Written here rather than
 * going through OpenTelemetry because OpenTelemetry has no summary type: a summary has to come
 * out as `name{quantile="0.5"}`, `name_sum` and `name_count` for Prometheus to treat it as one.
 */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

type Labels = ReadonlyArray<readonly [string, string]>

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')
const escapeHelp = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const formatNumber = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

const sample = (name: string, labels: Labels, value: number | bigint): string => {
  const body = labels.map(([key, v]) => `${key}="${escapeLabel(v)}"`).join(",")
  return `${name}${body === "" ? "" : `{${body}}`} ${formatNumber(value)}`
}

interface Family {
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  readonly help: string
  readonly lines: Array<string>
}

const samplesOf = (name: string, labels: Labels, state: MetricState.MetricState.Untyped): Family | undefined => {
  if (MetricState.isCounterState(state)) {
    return { type: "counter", help: "", lines: [sample(name, labels, state.count)] }
  }
  if (MetricState.isGaugeState(state)) {
    return { type: "gauge", help: "", lines: [sample(name, labels, state.value)] }
  }
  if (MetricState.isHistogramState(state)) {
    // Effect's bucket counts are already cumulative, as Prometheus wants them.
    const lines = state.buckets
      .filter(([boundary]) => Number.isFinite(boundary))
      .map(([boundary, count]) => sample(`${name}_bucket`, [...labels, ["le", formatNumber(boundary)]], count))
    lines.push(sample(`${name}_bucket`, [...labels, ["le", "+Inf"]], state.count))
    lines.push(sample(`${name}_sum`, labels, state.sum), sample(`${name}_count`, labels, state.count))
    return { type: "histogram", help: "", lines }
  }
  if (MetricState.isSummaryState(state)) {
    const lines = state.quantiles.map(([quantile, value]) =>
      sample(
        name,
        [...labels, ["quantile", String(quantile)]],
        Option.getOrElse(value, () => Number.NaN)
      )
    )
    lines.push(sample(`${name}_sum`, labels, state.sum), sample(`${name}_count`, labels, state.count))
    return { type: "summary", help: "", lines }
  }
  if (MetricState.isFrequencyState(state)) {
    const lines = [...state.occurrences].map(([key, count]) => sample(name, [...labels, ["key", key]], count))
    return { type: "counter", help: "", lines }
  }
  return undefined
}

/**
 * Effect counters may go down unless made `incremental`; Prometheus counters never do. A counter
 * named `…_total` is ours and monotonic; an incremental one gets the `_total` suffix Prometheus
 * expects; any other (Effect's own `effect_fiber_active`, say) is really a gauge.
 */
const isGaugeLikeCounter = (key: MetricKey.MetricKey.Untyped): boolean =>
  MetricKeyType.isCounterKey(key.keyType) && !key.name.endsWith("_total") && !key.keyType.incremental

const exposedName = (key: MetricKey.MetricKey.Untyped): string =>
  MetricKeyType.isCounterKey(key.keyType) && key.keyType.incremental && !key.name.endsWith("_total")
    ? `${key.name}_total`
    : key.name

/** Renders metric pairs; pairs sharing a name (different tags) form one family. */
export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  for (const { metricKey, metricState } of pairs) {
    const labels: Labels = metricKey.tags.map((tag) => [tag.key, tag.value] as const)
    const name = exposedName(metricKey)
    const family = samplesOf(name, labels, metricState)
    if (family === undefined) continue
    const exposed = isGaugeLikeCounter(metricKey) ? { ...family, type: "gauge" as const } : family
    const existing = families.get(name)
    if (existing === undefined) {
      families.set(name, { ...exposed, help: Option.getOrElse(metricKey.description, () => name) })
    } else {
      existing.lines.push(...family.lines)
    }
  }
  const out: Array<string> = []
  for (const [name, family] of [...families].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${family.type}`, ...family.lines)
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/** Every metric of this process, as Prometheus text. */
export const scrape: Effect.Effect<string> = Effect.map(Metric.snapshot, render)
