import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { Retry } from "../../src/resilience/index.js"

class Boom extends Schema.TaggedError<Boom>()("Boom", {
  retryable: Schema.Boolean,
  retryAfter: Schema.optional(Schema.DurationFromSelf)
}) {}

const policy: Retry.RetryPolicy = {
  maxAttempts: 4,
  baseDelay: "100 millis",
  backoffFactor: 2,
  maxDelay: "300 millis",
  jitter: false
}

const options: Retry.RetryOptions<Boom> = {
  isRetryable: (e) => e.retryable,
  retryAfter: (e) => e.retryAfter
}

/** An effect that fails with `errors[n]` on its n-th run (and succeeds after the last one), counting runs. */
const scripted = (errors: ReadonlyArray<Boom>) =>
  Effect.map(Ref.make(0), (runs) => ({
    runs,
    effect: Effect.flatMap(
      Ref.getAndUpdate(runs, (n) => n + 1),
      (n) => {
        const error = errors[n]
        return error === undefined ? Effect.succeed(`ok after ${n + 1}`) : Effect.fail(error)
      }
    )
  }))

const transient = new Boom({ retryable: true })
const permanent = new Boom({ retryable: false })

/** Moves the clock by `millis` and returns how many runs were made and whether the fiber is done. */
const advance = <A, E>(fiber: Fiber.Fiber<A, E>, runs: Ref.Ref<number>, millis: number) =>
  Effect.gen(function* () {
    yield* TestClock.adjust(Duration.millis(millis))
    return [yield* Ref.get(runs), Option.isSome(yield* Fiber.poll(fiber))] as const
  })

describe("Retry.schedule", () => {
  // `Schedule.run` also collects the output of the step that ends the schedule: drop it.
  const delaysOf = (p: Retry.RetryPolicy) =>
    Effect.map(
      Schedule.run(
        Retry.schedule(p),
        0,
        Array.from({ length: 20 }, (_, i) => i)
      ),
      (out) => Chunk.toReadonlyArray(out).slice(0, -1).map(Duration.toMillis)
    )

  it.effect("backs off exponentially, capped at maxDelay, for maxAttempts - 1 recurrences", () =>
    Effect.gen(function* () {
      expect(yield* delaysOf(policy)).toEqual([100, 200, 300])
      expect(yield* delaysOf({ ...policy, maxAttempts: 6, maxDelay: "1 second", backoffFactor: 3 })).toEqual([
        100, 300, 900, 1000, 1000
      ])
      expect(yield* delaysOf({ ...policy, maxAttempts: 1 })).toEqual([])
    })
  )

  it.effect("full jitter scales each capped delay by a random fraction", () =>
    Effect.gen(function* () {
      const delays = yield* delaysOf({ ...policy, jitter: true }).pipe(Effect.withRandom(Random.fixed([0.5, 0.25, 1])))
      expect(delays).toEqual([50, 50, 300])
    })
  )

  it.effect("full jitter delays lie within [0, capped delay] whatever the seed", () =>
    Effect.gen(function* () {
      const p: Retry.RetryPolicy = { ...policy, maxAttempts: 10, maxDelay: "2 seconds", jitter: true }
      const caps = [100, 200, 400, 800, 1600, 2000, 2000, 2000, 2000]
      const distinct = new Set<number>()
      for (let seed = 0; seed < 100; seed++) {
        const delays = yield* delaysOf(p).pipe(Effect.withRandom(Random.make(seed)))
        expect(delays).toHaveLength(caps.length)
        delays.forEach((delay, i) => {
          expect(delay).toBeGreaterThanOrEqual(0)
          expect(delay).toBeLessThanOrEqual(caps[i] ?? 0)
        })
        distinct.add(delays[0] ?? -1)
      }
      // Jitter that always picked the same value would not spread anything.
      expect(distinct.size).toBeGreaterThan(50)
    })
  )
})

describe("Retry.retry", () => {
  it.effect("sleeps 100, 200, 300 ms between the 4 attempts, then fails with the last error", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([transient, transient, transient, transient])
      const fiber = yield* Effect.fork(Retry.retry(effect, policy, options))
      expect(yield* advance(fiber, runs, 0)).toEqual([1, false])
      expect(yield* advance(fiber, runs, 99)).toEqual([1, false])
      expect(yield* advance(fiber, runs, 1)).toEqual([2, false])
      expect(yield* advance(fiber, runs, 199)).toEqual([2, false])
      expect(yield* advance(fiber, runs, 1)).toEqual([3, false])
      expect(yield* advance(fiber, runs, 299)).toEqual([3, false])
      expect(yield* advance(fiber, runs, 1)).toEqual([4, true])
      expect(yield* Effect.flip(Fiber.join(fiber))).toBe(transient)
      // No fifth attempt, however long we wait.
      expect(yield* advance(fiber, runs, 10_000)).toEqual([4, true])
    })
  )

  it.effect("succeeds as soon as an attempt does", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([transient])
      const fiber = yield* Effect.fork(Retry.retry(effect, policy, options))
      yield* TestClock.adjust("100 millis")
      expect(yield* Fiber.join(fiber)).toBe("ok after 2")
      expect(yield* Ref.get(runs)).toBe(2)
    })
  )

  it.effect("returns a permanent error after a single attempt, without waiting", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([permanent])
      expect(yield* Effect.flip(Retry.retry(effect, policy, options))).toBe(permanent)
      expect(yield* Ref.get(runs)).toBe(1)
    })
  )

  it.effect("stops at the first permanent error after transient ones", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([transient, permanent, transient])
      const fiber = yield* Effect.fork(Retry.retry(effect, policy, options))
      expect(yield* advance(fiber, runs, 100)).toEqual([2, true])
      expect(yield* Effect.flip(Fiber.join(fiber))).toBe(permanent)
    })
  )

  it.effect("reports every attempt to onAttempt, on success and on final failure", () =>
    Effect.gen(function* () {
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      const onAttempt = (n: number) => Ref.update(seen, (xs) => [...xs, n])

      const succeeding = yield* scripted([transient, transient])
      const ok = yield* Effect.fork(Retry.retry(succeeding.effect, policy, { ...options, onAttempt }))
      yield* TestClock.adjust("300 millis")
      expect(yield* Fiber.join(ok)).toBe("ok after 3")
      expect(yield* Ref.getAndSet(seen, [])).toEqual([1, 2, 3])

      const failing = yield* scripted([transient, transient, transient, transient, transient])
      const ko = yield* Effect.fork(Retry.retry(failing.effect, policy, { ...options, onAttempt }))
      yield* TestClock.adjust("600 millis")
      expect(yield* Effect.flip(Fiber.join(ko))).toBe(transient)
      expect(yield* Ref.get(seen)).toEqual([1, 2, 3, 4])
    })
  )

  it.effect("uses the jittered delay", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([transient, transient])
      const fiber = yield* Effect.fork(
        Retry.retry(effect, { ...policy, jitter: true }, options).pipe(Effect.withRandom(Random.fixed([0.5, 0.1])))
      )
      expect(yield* advance(fiber, runs, 49)).toEqual([1, false])
      expect(yield* advance(fiber, runs, 1)).toEqual([2, false])
      expect(yield* advance(fiber, runs, 19)).toEqual([2, false])
      expect(yield* advance(fiber, runs, 1)).toEqual([3, true])
    })
  )

  it.effect("waits for a Retry-After longer than the computed delay", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([new Boom({ retryable: true, retryAfter: Duration.millis(250) })])
      const fiber = yield* Effect.fork(Retry.retry(effect, policy, options))
      expect(yield* advance(fiber, runs, 249)).toEqual([1, false])
      expect(yield* advance(fiber, runs, 1)).toEqual([2, true])
      expect(yield* Fiber.join(fiber)).toBe("ok after 2")
    })
  )

  it.effect("keeps the computed delay when the Retry-After is shorter", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([
        transient,
        new Boom({ retryable: true, retryAfter: Duration.millis(50) })
      ])
      const fiber = yield* Effect.fork(Retry.retry(effect, policy, options))
      expect(yield* advance(fiber, runs, 100)).toEqual([2, false])
      expect(yield* advance(fiber, runs, 199)).toEqual([2, false])
      expect(yield* advance(fiber, runs, 1)).toEqual([3, true])
    })
  )

  it.effect("accepts a Retry-After equal to maxDelay", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([new Boom({ retryable: true, retryAfter: Duration.millis(300) })])
      const fiber = yield* Effect.fork(Retry.retry(effect, policy, options))
      expect(yield* advance(fiber, runs, 299)).toEqual([1, false])
      expect(yield* advance(fiber, runs, 1)).toEqual([2, true])
    })
  )

  it.effect("gives up at once when the Retry-After exceeds maxDelay", () =>
    Effect.gen(function* () {
      const tooLong = new Boom({ retryable: true, retryAfter: Duration.millis(301) })
      const { effect, runs } = yield* scripted([transient, tooLong])
      const fiber = yield* Effect.fork(Retry.retry(effect, policy, options))
      expect(yield* advance(fiber, runs, 100)).toEqual([2, true])
      expect(yield* Effect.flip(Fiber.join(fiber))).toBe(tooLong)
    })
  )

  it.effect("makes a single attempt when maxAttempts is 1", () =>
    Effect.gen(function* () {
      const { effect, runs } = yield* scripted([transient])
      expect(yield* Effect.flip(Retry.retry(effect, { ...policy, maxAttempts: 1 }, options))).toBe(transient)
      expect(yield* Ref.get(runs)).toBe(1)
    })
  )
})
