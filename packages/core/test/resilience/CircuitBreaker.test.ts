import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { CircuitBreaker } from "../../src/resilience/index.js"

class Boom extends Schema.TaggedError<Boom>()("Boom", { counted: Schema.Boolean }) {}

const counted = new Boom({ counted: true })
const notCounted = new Boom({ counted: false })

let breakers = 0

/** Options with a unique name, so that metrics of different tests do not mix. */
const baseOptions = (): CircuitBreaker.CircuitBreakerOptions => ({
  name: `breaker-${++breakers}`,
  failureThreshold: 3,
  resetTimeout: "10 seconds",
  halfOpenAttempts: 2
})

const makeBreaker = (overrides: Partial<CircuitBreaker.CircuitBreakerOptions> = {}) =>
  CircuitBreaker.make({
    ...baseOptions(),
    isFailure: (e) => !(e instanceof Boom) || e.counted,
    ...overrides
  })

/** Effects that count their runs: a call that ran shows in `runs`, a rejected one does not. */
const counter = Effect.map(Ref.make(0), (runs) => ({
  runs,
  succeed: Ref.update(runs, (n) => n + 1),
  fail: (error: Boom) =>
    Effect.zipRight(
      Ref.update(runs, (n) => n + 1),
      Effect.fail(error)
    ),
  die: Effect.zipRight(
    Ref.update(runs, (n) => n + 1),
    Effect.die("kaput")
  )
}))

const open = (breaker: CircuitBreaker.CircuitBreaker, fail: Effect.Effect<never, Boom>, threshold = 3) =>
  Effect.repeatN(Effect.flip(breaker.execute(fail)), threshold - 1)

const errorTag = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(effect), (e) => e._tag)

const metricValue = (name: string, tags: Record<string, string>) =>
  Effect.map(Metric.snapshot, (pairs) => {
    const pair = pairs.find(
      (p) =>
        p.metricKey.name === name &&
        Object.entries(tags).every(([key, value]) => p.metricKey.tags.some((t) => t.key === key && t.value === value))
    )
    if (pair === undefined) return undefined
    const state = pair.metricState
    if (MetricState.isGaugeState(state)) return Number(state.value)
    if (MetricState.isCounterState(state)) return Number(state.count)
    return undefined
  })

describe("CircuitBreaker", () => {
  it.effect("opens after failureThreshold consecutive failures and then fails fast without running", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker()
      const calls = yield* counter
      expect(yield* breaker.state).toBe("closed")
      yield* open(breaker, calls.fail(counted))
      expect(yield* Ref.get(calls.runs)).toBe(3)
      expect(yield* breaker.state).toBe("open")

      const rejected = yield* Effect.flip(breaker.execute(calls.succeed))
      expect(rejected).toBeInstanceOf(CircuitBreaker.CircuitOpen)
      expect(rejected).toMatchObject({ _tag: "CircuitOpen", name: breaker.name })
      expect(rejected._tag === "CircuitOpen" && rejected.retryAfter).toEqual(Duration.seconds(10))
      expect(yield* Ref.get(calls.runs)).toBe(3)
    })
  )

  it.effect("tells how much longer it stays open", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker()
      const calls = yield* counter
      yield* open(breaker, calls.fail(counted))
      yield* TestClock.adjust("4 seconds")
      const rejected = yield* Effect.flip(breaker.execute(calls.succeed))
      expect(rejected._tag === "CircuitOpen" && rejected.retryAfter).toEqual(Duration.seconds(6))
    })
  )

  it.effect("a success in closed state resets the consecutive failure count", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker()
      const calls = yield* counter
      yield* open(breaker, calls.fail(counted), 2)
      yield* breaker.execute(calls.succeed)
      yield* open(breaker, calls.fail(counted), 2)
      expect(yield* breaker.state).toBe("closed")
      yield* Effect.flip(breaker.execute(calls.fail(counted)))
      expect(yield* breaker.state).toBe("open")
      expect(yield* Ref.get(calls.runs)).toBe(6)
    })
  )

  it.effect("errors that are not failures do not open it, and reset the count like successes", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker()
      const calls = yield* counter
      yield* open(breaker, calls.fail(notCounted), 10)
      expect(yield* breaker.state).toBe("closed")
      yield* open(breaker, calls.fail(counted), 2)
      yield* Effect.flip(breaker.execute(calls.fail(notCounted)))
      yield* open(breaker, calls.fail(counted), 2)
      expect(yield* breaker.state).toBe("closed")
      expect(yield* Ref.get(calls.runs)).toBe(15)
    })
  )

  it.effect("counts every error when isFailure is not given, and defects always", () =>
    Effect.gen(function* () {
      const everyError = yield* CircuitBreaker.make(baseOptions())
      const calls = yield* counter
      yield* open(everyError, calls.fail(notCounted))
      expect(yield* everyError.state).toBe("open")

      const defects = yield* makeBreaker()
      for (let i = 0; i < 3; i++) yield* Effect.exit(defects.execute(calls.die))
      expect(yield* defects.state).toBe("open")
    })
  )

  it.effect("turns half-open exactly when resetTimeout has elapsed", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker()
      const calls = yield* counter
      yield* open(breaker, calls.fail(counted))
      yield* TestClock.adjust(Duration.millis(9_999))
      expect(yield* breaker.state).toBe("open")
      expect(yield* errorTag(breaker.execute(calls.succeed))).toBe("CircuitOpen")
      expect(yield* Ref.get(calls.runs)).toBe(3)
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* breaker.state).toBe("half_open")
    })
  )

  it.effect("half-open permits exactly halfOpenAttempts concurrent trials; their success closes it", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker()
      const calls = yield* counter
      yield* open(breaker, calls.fail(counted))
      yield* TestClock.adjust("10 seconds")

      const gate = yield* Deferred.make<void>()
      const trial = Effect.zipRight(calls.succeed, Deferred.await(gate))
      const fibers = yield* Effect.forEach(Array.from({ length: 5 }), () => Effect.fork(breaker.execute(trial)))
      yield* Effect.yieldNow()
      expect(yield* Ref.get(calls.runs)).toBe(3 + 2)
      const rejected = yield* Effect.forEach(fibers, (f) => Fiber.poll(f))
      expect(rejected.filter(Option.isSome).map((o) => Option.map(o, Exit.isFailure))).toEqual([
        Option.some(true),
        Option.some(true),
        Option.some(true)
      ])
      expect(yield* breaker.state).toBe("half_open")

      yield* Deferred.succeed(gate, undefined)
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      expect(exits.filter(Exit.isSuccess)).toHaveLength(2)
      expect(yield* breaker.state).toBe("closed")

      // Closed again, with a fresh failure count.
      yield* open(breaker, calls.fail(counted), 2)
      expect(yield* breaker.state).toBe("closed")
    })
  )

  it.effect("one successful trial is not enough when halfOpenAttempts is 2", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker()
      const calls = yield* counter
      yield* open(breaker, calls.fail(counted))
      yield* TestClock.adjust("10 seconds")
      yield* breaker.execute(calls.succeed)
      expect(yield* breaker.state).toBe("half_open")
      yield* breaker.execute(calls.succeed)
      expect(yield* breaker.state).toBe("closed")
    })
  )

  it.effect("a failing trial opens it again for a full resetTimeout", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker()
      const calls = yield* counter
      yield* open(breaker, calls.fail(counted))
      yield* TestClock.adjust("10 seconds")
      yield* breaker.execute(calls.succeed)
      yield* TestClock.adjust("1 second")
      expect(yield* errorTag(breaker.execute(calls.fail(counted)))).toBe("Boom")
      expect(yield* breaker.state).toBe("open")
      expect(yield* errorTag(breaker.execute(calls.succeed))).toBe("CircuitOpen")
      expect(yield* Ref.get(calls.runs)).toBe(5)
      yield* TestClock.adjust(Duration.millis(9_999))
      expect(yield* breaker.state).toBe("open")
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* breaker.state).toBe("half_open")
    })
  )

  it.effect("a trial that fails with a non-failure error counts as a success", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker({ halfOpenAttempts: 1 })
      const calls = yield* counter
      yield* open(breaker, calls.fail(counted))
      yield* TestClock.adjust("10 seconds")
      yield* Effect.flip(breaker.execute(calls.fail(notCounted)))
      expect(yield* breaker.state).toBe("closed")
    })
  )

  it.effect("an interrupted trial gives its permit back", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker({ halfOpenAttempts: 1 })
      const calls = yield* counter
      yield* open(breaker, calls.fail(counted))
      yield* TestClock.adjust("10 seconds")

      const hanging = yield* Effect.fork(breaker.execute(Effect.zipRight(calls.succeed, Effect.never)))
      yield* Effect.yieldNow()
      expect(yield* errorTag(breaker.execute(calls.succeed))).toBe("CircuitOpen")
      yield* Fiber.interrupt(hanging)
      expect(yield* breaker.state).toBe("half_open")

      yield* breaker.execute(calls.succeed)
      expect(yield* breaker.state).toBe("closed")
    })
  )

  it.effect("ignores the outcome of a call that started before the last transition", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker({ halfOpenAttempts: 1 })
      const calls = yield* counter
      const gate = yield* Deferred.make<void>()
      const slow = yield* Effect.fork(breaker.execute(Effect.zipRight(Deferred.await(gate), calls.fail(counted))))
      yield* Effect.yieldNow()
      yield* open(breaker, calls.fail(counted))
      yield* TestClock.adjust("10 seconds")
      expect(yield* breaker.state).toBe("half_open")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.await(slow)
      // The slow call failed, but under the closed state that is gone: the trial is still open.
      expect(yield* breaker.state).toBe("half_open")
      yield* breaker.execute(calls.succeed)
      expect(yield* breaker.state).toBe("closed")
    })
  )

  it.effect("logs every transition with the breaker's name and both states", () =>
    Effect.gen(function* () {
      const logs: Array<{ level: string; annotations: Record<string, unknown> }> = []
      const collector = Logger.make(({ logLevel, annotations }) => {
        logs.push({ level: logLevel.label, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
      })
      yield* Effect.gen(function* () {
        const breaker = yield* makeBreaker({ halfOpenAttempts: 1 })
        const calls = yield* counter
        yield* open(breaker, calls.fail(counted))
        yield* TestClock.adjust("10 seconds")
        yield* breaker.execute(calls.succeed)
      }).pipe(Effect.provide(Logger.add(collector)))
      expect(logs.map(({ level, annotations }) => [level, annotations.from, annotations.to])).toEqual([
        ["WARN", "closed", "open"],
        ["INFO", "open", "half_open"],
        ["INFO", "half_open", "closed"]
      ])
      expect(logs.every(({ annotations }) => typeof annotations.name === "string")).toBe(true)
    })
  )

  it.effect("publishes its state, transitions and rejections as metrics", () =>
    Effect.gen(function* () {
      const breaker = yield* makeBreaker({ halfOpenAttempts: 1 })
      const { name } = breaker
      const calls = yield* counter
      const state = metricValue("circuit_breaker_state", { name })
      const transitions = (from: string, to: string) =>
        metricValue("circuit_breaker_transitions_total", { name, from, to })

      expect(yield* state).toBe(0)
      yield* open(breaker, calls.fail(counted))
      expect(yield* state).toBe(1)
      yield* Effect.flip(breaker.execute(calls.succeed))
      yield* Effect.flip(breaker.execute(calls.succeed))
      expect(yield* metricValue("circuit_breaker_rejected_total", { name })).toBe(2)

      yield* TestClock.adjust("10 seconds")
      expect(yield* breaker.state).toBe("half_open")
      expect(yield* state).toBe(2)
      yield* breaker.execute(calls.succeed)
      expect(yield* state).toBe(0)

      expect(yield* transitions("closed", "open")).toBe(1)
      expect(yield* transitions("open", "half_open")).toBe(1)
      expect(yield* transitions("half_open", "closed")).toBe(1)
      expect(yield* transitions("half_open", "open")).toBeUndefined()
    })
  )
})
