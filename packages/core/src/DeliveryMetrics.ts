import type { Channel } from "@notification-service/domain"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"

/** Outcomes of dispatch: `status` is `sent`, `failed` or `suppressed`. */
export const sentTotal = Metric.counter("notification_sent_total", {
  description: "Notifications that reached a final dispatch outcome, by channel (type) and status.",
  incremental: true
})

export const sentDuration = Metric.summary({
  name: "notification_sent_duration_seconds",
  description: "Time to deliver a notification through its channel (retries and failover included), in seconds.",
  maxAge: "5 minutes",
  maxSize: 1024,
  error: 0.01,
  quantiles: [0.5, 0.9, 0.99]
})

export const queueSize = Metric.gauge("notification_queue_size", {
  description: "Notifications waiting for dispatch: queue=pending (due now or retrying) or scheduled."
})

export const errorRate = Metric.gauge("notification_error_rate", {
  description: "Share of provider calls of a channel (type) that failed with this error over the last minute (0..1)."
})

export const providerErrors = Metric.counter("notification_provider_errors_total", {
  description: "Failed provider calls by channel (type), provider and error code.",
  incremental: true
})

export const recordOutcome = (channel: Channel, status: "sent" | "failed" | "suppressed") =>
  Metric.update(sentTotal.pipe(Metric.tagged("type", channel), Metric.tagged("status", status)), 1)

export const recordDuration = (channel: Channel, seconds: number) =>
  Metric.update(sentDuration.pipe(Metric.tagged("type", channel)), seconds)

export const recordQueueSizes = (sizes: { readonly pending: number; readonly scheduled: number }) =>
  Effect.all([
    Metric.set(queueSize.pipe(Metric.tagged("queue", "pending")), sizes.pending),
    Metric.set(queueSize.pipe(Metric.tagged("queue", "scheduled")), sizes.scheduled)
  ])

const windowSeconds = 60

interface Second {
  readonly at: number
  calls: number
  readonly errors: Map<string, number>
}

/**
 * A one-minute sliding window of provider calls per channel, one bucket per second, so the rate
 * follows what happens now rather than the process's whole life. Memory is bounded: at most 60
 * buckets per channel, each with one counter per distinct error code.
 */
export const makeErrorRate = Effect.gen(function* () {
  const windows = yield* Ref.make(new Map<Channel, Array<Second>>())
  const seen = new Map<Channel, Set<string>>()

  const record = (channel: Channel, error: string | undefined) =>
    Effect.gen(function* () {
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const buckets = yield* Ref.modify(windows, (map) => {
        const kept = (map.get(channel) ?? []).filter((bucket) => bucket.at > now - windowSeconds)
        let current = kept.at(-1)
        if (current === undefined || current.at !== now) {
          current = { at: now, calls: 0, errors: new Map() }
          kept.push(current)
        }
        current.calls += 1
        if (error !== undefined) current.errors.set(error, (current.errors.get(error) ?? 0) + 1)
        map.set(channel, kept)
        return [kept, map] as const
      })
      const calls = buckets.reduce((sum, bucket) => sum + bucket.calls, 0)
      const codes = seen.get(channel) ?? new Set<string>()
      if (error !== undefined) codes.add(error)
      seen.set(channel, codes)
      for (const code of codes) {
        const errors = buckets.reduce((sum, bucket) => sum + (bucket.errors.get(code) ?? 0), 0)
        yield* Metric.set(errorRate.pipe(Metric.tagged("type", channel), Metric.tagged("error", code)), errors / calls)
      }
    })

  return { record } as const
})
