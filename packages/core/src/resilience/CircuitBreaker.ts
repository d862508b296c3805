/**
 * A count-based circuit breaker with resilience4j's semantics, so that a dependency that keeps
 * failing is given time to recover instead of being hammered, and callers fail fast meanwhile.
 *
 * - closed: calls run; `failureThreshold` consecutive failures open the circuit.
 * - open: calls fail with `CircuitOpen` without running, until `resetTimeout` has elapsed.
 * - half_open: `halfOpenAttempts` trial calls run (others fail fast); if they all succeed the
 *   circuit closes, the first failing one opens it again for a full `resetTimeout`.
 *
 * The open → half_open move happens lazily, on the first call or state read after the timeout
 * (resilience4j's default), so a breaker needs no background fiber and no scope.
 *
 * Metrics, all tagged `name`:
 * - `circuit_breaker_state` (gauge): 0 closed, 1 open, 2 half_open.
 * - `circuit_breaker_transitions_total` (counter), also tagged `from` and `to`.
 * - `circuit_breaker_rejected_total` (counter): calls refused with `CircuitOpen`.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

export type State = "closed" | "open" | "half_open"

export interface CircuitBreakerOptions {
  /** Identifies the breaker in logs, metrics and `CircuitOpen`, e.g. the dependency it guards. */
  readonly name: string
  /** Consecutive counted failures that open the circuit (at least 1). */
  readonly failureThreshold: number
  /** How long the circuit stays open before it lets trial calls through. */
  readonly resetTimeout: Duration.DurationInput
  /** Trial calls permitted while half-open; all must succeed to close the circuit (at least 1). */
  readonly halfOpenAttempts: number
  /**
   * Which errors say something about the dependency's health. Others (a rejected request, say)
   * count as successes: the dependency answered. Defaults to every error; defects always count.
   */
  readonly isFailure?: (error: unknown) => boolean
}

/** The call was refused without running because the circuit is open (or its trials are taken). */
export class CircuitOpen extends Schema.TaggedError<CircuitOpen>()("CircuitOpen", {
  name: Schema.String,
  /** How long the circuit stays open; absent while half-open, where it depends on the trials. */
  retryAfter: Schema.optional(Schema.DurationFromSelf),
  message: Schema.String
}) {}

export interface CircuitBreaker {
  readonly name: string
  /** Runs `self` if the circuit permits it, and records how it ended. */
  readonly execute: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | CircuitOpen, R>
  readonly state: Effect.Effect<State>
}

// `generation` changes on every transition, so that a call that started under an earlier state
// (a slow call from before the circuit opened, say) cannot count towards the current one.
type Internal =
  | { readonly _tag: "closed"; readonly generation: number; readonly failures: number }
  | { readonly _tag: "open"; readonly generation: number; readonly until: number }
  | { readonly _tag: "half_open"; readonly generation: number; readonly permits: number; readonly successes: number }

/** How a call ended, for the breaker; "ignored" is an interruption, which says nothing about health. */
type Outcome = "success" | "failure" | "ignored"

type Admission =
  | { readonly _tag: "permitted"; readonly generation: number }
  | { readonly _tag: "rejected"; readonly retryAfter: Duration.Duration | undefined }

const stateValue: Record<State, number> = { closed: 0, open: 1, half_open: 2 }

const stateGauge = Metric.gauge("circuit_breaker_state", {
  description: "Circuit breaker state: 0 closed, 1 open, 2 half_open."
})

const transitionsTotal = Metric.counter("circuit_breaker_transitions_total", {
  description: "Circuit breaker state transitions, by from and to state.",
  incremental: true
})

const rejectedTotal = Metric.counter("circuit_breaker_rejected_total", {
  description: "Calls refused by an open or saturated half-open circuit breaker.",
  incremental: true
})

export const make = (options: CircuitBreakerOptions): Effect.Effect<CircuitBreaker> =>
  Effect.gen(function* () {
    const { name } = options
    const failureThreshold = Math.max(1, options.failureThreshold)
    const halfOpenAttempts = Math.max(1, options.halfOpenAttempts)
    const resetMillis = Duration.toMillis(options.resetTimeout)
    const isFailure = options.isFailure ?? (() => true)
    const gauge = Metric.tagged(stateGauge, "name", name)
    const rejected = Metric.tagged(rejectedTotal, "name", name)

    const ref = yield* Ref.make<Internal>({ _tag: "closed", generation: 0, failures: 0 })
    yield* Metric.set(gauge, stateValue.closed)

    const opened = (from: Internal, now: number): Internal => ({
      _tag: "open",
      generation: from.generation + 1,
      until: now + resetMillis
    })

    const elapse = (s: Internal, now: number): Internal =>
      s._tag === "open" && now >= s.until
        ? { _tag: "half_open", generation: s.generation + 1, permits: halfOpenAttempts, successes: 0 }
        : s

    const transition = (from: State, to: State): Effect.Effect<void> =>
      from === to
        ? Effect.void
        : Effect.all(
            [
              Metric.set(gauge, stateValue[to]),
              Metric.increment(
                Metric.taggedWithLabels(transitionsTotal, [
                  MetricLabel.make("name", name),
                  MetricLabel.make("from", from),
                  MetricLabel.make("to", to)
                ])
              ),
              (to === "open" ? Effect.logWarning : Effect.logInfo)(`Circuit breaker ${name}: ${from} -> ${to}`).pipe(
                Effect.annotateLogs({ name, from, to })
              )
            ],
            { discard: true }
          )

    // Applies `f` atomically and reports the transition it made, if any.
    const update = <B>(f: (s: Internal, now: number) => readonly [B, Internal]): Effect.Effect<B> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(ref, (before): readonly [readonly [B, State, State], Internal] => {
          const [result, after] = f(before, now)
          return [[result, before._tag, after._tag], after]
        }).pipe(Effect.flatMap(([result, from, to]) => Effect.as(transition(from, to), result)))
      )

    const admit = update((before, now): readonly [Admission, Internal] => {
      const s = elapse(before, now)
      switch (s._tag) {
        case "closed":
          return [{ _tag: "permitted", generation: s.generation }, s]
        case "open":
          return [{ _tag: "rejected", retryAfter: Duration.millis(s.until - now) }, s]
        case "half_open":
          return s.permits > 0
            ? [
                { _tag: "permitted", generation: s.generation },
                { ...s, permits: s.permits - 1 }
              ]
            : [{ _tag: "rejected", retryAfter: undefined }, s]
      }
    })

    const recorded = (s: Internal, generation: number, outcome: Outcome, now: number): Internal => {
      if (s.generation !== generation) return s
      switch (s._tag) {
        case "closed":
          if (outcome === "success") return { ...s, failures: 0 }
          if (outcome === "ignored") return s
          return s.failures + 1 >= failureThreshold ? opened(s, now) : { ...s, failures: s.failures + 1 }
        case "half_open":
          if (outcome === "failure") return opened(s, now)
          // An interrupted trial gives its permit back, so that another call can make the trial.
          if (outcome === "ignored") return { ...s, permits: s.permits + 1 }
          return s.successes + 1 >= halfOpenAttempts
            ? { _tag: "closed", generation: s.generation + 1, failures: 0 }
            : { ...s, successes: s.successes + 1 }
        case "open":
          return s
      }
    }

    const record = (generation: number, outcome: Outcome): Effect.Effect<void> =>
      update((s, now) => [undefined, recorded(s, generation, outcome, now)])

    const classify = <A, E>(exit: Exit.Exit<A, E>): Outcome => {
      if (Exit.isSuccess(exit)) return "success"
      if (Cause.isDie(exit.cause) || Chunk.some(Cause.failures(exit.cause), isFailure)) return "failure"
      if (Cause.isInterruptedOnly(exit.cause)) return "ignored"
      return "success"
    }

    const reject = (retryAfter: Duration.Duration | undefined): Effect.Effect<never, CircuitOpen> =>
      Effect.zipRight(
        Metric.increment(rejected),
        Effect.fail(
          new CircuitOpen({
            name,
            ...(retryAfter === undefined ? {} : { retryAfter }),
            message:
              retryAfter === undefined
                ? `Circuit breaker ${name} is half-open and its trial calls are taken`
                : `Circuit breaker ${name} is open`
          })
        )
      )

    const execute = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | CircuitOpen, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          admit,
          (admission): Effect.Effect<A, E | CircuitOpen, R> =>
            admission._tag === "rejected"
              ? reject(admission.retryAfter)
              : restore(self).pipe(Effect.onExit((exit) => record(admission.generation, classify(exit))))
        )
      )

    const state = update((before, now): readonly [State, Internal] => {
      const after = elapse(before, now)
      return [after._tag, after]
    })

    return { name, execute, state }
  })
