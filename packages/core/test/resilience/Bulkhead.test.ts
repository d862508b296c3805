import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as MetricState from "effect/MetricState"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import { Bulkhead } from "../../src/resilience/index.js"

let bulkheads = 0

/** A bulkhead with a unique name, so that metrics of different tests do not mix. */
const makeBulkhead = (overrides: Partial<Bulkhead.BulkheadOptions> = {}) =>
  Bulkhead.make({ name: `bulkhead-${++bulkheads}`, maxConcurrentCalls: 2, maxWait: "1 second", ...overrides })

/** Calls that block until released, tracking how many run at once and the highest such number. */
const blocking = Effect.gen(function* () {
  const gate = yield* Deferred.make<void>()
  const running = yield* Ref.make(0)
  const peak = yield* Ref.make(0)
  const call = Effect.acquireUseRelease(
    Effect.flatMap(
      Ref.updateAndGet(running, (n) => n + 1),
      (n) => Ref.update(peak, (p) => Math.max(p, n))
    ),
    () => Deferred.await(gate),
    () => Ref.update(running, (n) => n - 1)
  )
  return { gate, running, peak, call }
})

const isDone = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)

const gaugeValue = (name: string, tag: string) =>
  Effect.map(Metric.snapshot, (pairs) => {
    const state = pairs.find(
      (p) => p.metricKey.name === name && p.metricKey.tags.some((t) => t.value === tag)
    )?.metricState
    if (MetricState.isGaugeState(state)) return Number(state.value)
    if (MetricState.isCounterState(state)) return Number(state.count)
    return undefined
  })

describe("Bulkhead", () => {
  it.effect("runs at most maxConcurrentCalls at once", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead({ maxConcurrentCalls: 3, maxWait: "1 minute" })
      const { gate, running, peak, call } = yield* blocking
      const fibers = yield* Effect.forEach(Array.from({ length: 10 }), () => Effect.fork(bulkhead.execute(call)))
      yield* Effect.yieldNow()
      expect(yield* Ref.get(running)).toBe(3)
      expect(yield* bulkhead.inUse).toBe(3)
      yield* Deferred.succeed(gate, undefined)
      yield* Effect.forEach(fibers, Fiber.join)
      expect(yield* Ref.get(peak)).toBe(3)
      expect(yield* bulkhead.inUse).toBe(0)
    })
  )

  it.effect("a waiting call gets the permit when one is freed before maxWait", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead()
      const first = yield* blocking
      const second = yield* blocking
      const a = yield* Effect.fork(bulkhead.execute(first.call))
      yield* Effect.fork(bulkhead.execute(second.call))
      const waiter = yield* Effect.fork(bulkhead.execute(Effect.succeed("ran")))
      yield* TestClock.adjust(Duration.millis(999))
      expect(yield* isDone(waiter)).toBe(false)
      yield* Deferred.succeed(first.gate, undefined)
      yield* Fiber.join(a)
      expect(yield* Fiber.join(waiter)).toBe("ran")
    })
  )

  it.effect("fails with BulkheadFull after exactly maxWait when no permit is freed", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead()
      const { call } = yield* blocking
      yield* Effect.fork(bulkhead.execute(call))
      yield* Effect.fork(bulkhead.execute(call))
      const ran = yield* Ref.make(false)
      const waiter = yield* Effect.fork(bulkhead.execute(Ref.set(ran, true)))
      yield* TestClock.adjust(Duration.millis(999))
      expect(yield* isDone(waiter)).toBe(false)
      yield* TestClock.adjust(Duration.millis(1))
      const error = yield* Effect.flip(Fiber.join(waiter))
      expect(error).toBeInstanceOf(Bulkhead.BulkheadFull)
      expect(error).toMatchObject({ name: bulkhead.name, maxConcurrentCalls: 2 })
      expect(yield* Ref.get(ran)).toBe(false)
      expect(yield* bulkhead.inUse).toBe(2)
    })
  )

  it.effect("with maxWait 0 rejects at once when full, and runs at once when not", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead({ maxConcurrentCalls: 1, maxWait: 0 })
      expect(yield* bulkhead.execute(Effect.succeed(1))).toBe(1)
      const { gate, call } = yield* blocking
      const holder = yield* Effect.fork(bulkhead.execute(call))
      yield* Effect.yieldNow()
      const error = yield* Effect.flip(bulkhead.execute(Effect.succeed(2)))
      expect(error._tag).toBe("BulkheadFull")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* bulkhead.execute(Effect.succeed(3))).toBe(3)
    })
  )

  it.effect("rejects at once beyond maxWaiting waiting calls", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead({ maxConcurrentCalls: 1, maxWaiting: 1 })
      const { gate, call } = yield* blocking
      yield* Effect.fork(bulkhead.execute(call))
      const waiting = yield* Effect.fork(bulkhead.execute(Effect.succeed("waited")))
      yield* Effect.yieldNow()
      expect(yield* Effect.flip(bulkhead.execute(Effect.succeed("rejected")))).toBeInstanceOf(Bulkhead.BulkheadFull)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(waiting)).toBe("waited")
    })
  )

  it.effect("releases the permit on failure, defect and interruption", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead({ maxConcurrentCalls: 1, maxWait: 0 })
      expect(yield* Effect.flip(bulkhead.execute(Effect.fail("nope")))).toBe("nope")
      expect(yield* bulkhead.inUse).toBe(0)
      expect(Exit.isFailure(yield* Effect.exit(bulkhead.execute(Effect.die("kaput"))))).toBe(true)
      expect(yield* bulkhead.inUse).toBe(0)
      const hanging = yield* Effect.fork(bulkhead.execute(Effect.never))
      yield* Effect.yieldNow()
      expect(yield* bulkhead.inUse).toBe(1)
      yield* Fiber.interrupt(hanging)
      expect(yield* bulkhead.inUse).toBe(0)
      expect(yield* bulkhead.execute(Effect.succeed("free again"))).toBe("free again")
    })
  )

  it.effect("an interrupted waiter takes neither a permit nor a waiting slot with it", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead({ maxConcurrentCalls: 1, maxWaiting: 1 })
      const { gate, call } = yield* blocking
      const holder = yield* Effect.fork(bulkhead.execute(call))
      const interrupted = yield* Effect.fork(bulkhead.execute(Effect.succeed("never")))
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(interrupted)
      // Its waiting slot is free: another call may wait, and gets the permit.
      const waiter = yield* Effect.fork(bulkhead.execute(Effect.succeed("waited")))
      yield* Effect.yieldNow()
      expect(yield* isDone(waiter)).toBe(false)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* Fiber.join(waiter)).toBe("waited")
      expect(yield* bulkhead.inUse).toBe(0)
      expect(yield* bulkhead.execute(Effect.succeed("again"))).toBe("again")
    })
  )

  it.effect("a permit freed at the very moment the wait expires is not lost", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead({ maxConcurrentCalls: 1, maxWait: "100 millis" })
      // The holder releases its permit after exactly maxWait, when the waiter's timeout fires too.
      const holder = yield* Effect.fork(bulkhead.execute(Effect.sleep("100 millis")))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(bulkhead.execute(Effect.succeed("ran")))
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(holder)
      yield* Fiber.await(waiter)
      // Whether the waiter made it or not, nothing holds a permit any more.
      expect(yield* bulkhead.inUse).toBe(0)
      expect(yield* bulkhead.execute(Effect.succeed("free"))).toBe("free")
      for (let i = 0; i < 3; i++) {
        yield* Effect.fork(bulkhead.execute(Effect.sleep("100 millis")))
        yield* Effect.yieldNow()
        yield* Effect.fork(bulkhead.execute(Effect.void))
        yield* TestClock.adjust("100 millis")
        yield* TestClock.adjust("1 millis")
        expect(yield* bulkhead.inUse).toBe(0)
      }
    })
  )

  it.effect("publishes permits in use, the limit and rejections as metrics", () =>
    Effect.gen(function* () {
      const bulkhead = yield* makeBulkhead({ maxConcurrentCalls: 1, maxWait: 0 })
      const { gate, call } = yield* blocking
      expect(yield* gaugeValue("bulkhead_max_concurrent_calls", bulkhead.name)).toBe(1)
      expect(yield* gaugeValue("bulkhead_in_use", bulkhead.name)).toBe(0)
      const holder = yield* Effect.fork(bulkhead.execute(call))
      yield* Effect.yieldNow()
      expect(yield* gaugeValue("bulkhead_in_use", bulkhead.name)).toBe(1)
      yield* Effect.flip(bulkhead.execute(Effect.void))
      yield* Effect.flip(bulkhead.execute(Effect.void))
      expect(yield* gaugeValue("bulkhead_rejected_total", bulkhead.name)).toBe(2)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holder)
      expect(yield* gaugeValue("bulkhead_in_use", bulkhead.name)).toBe(0)
    })
  )
})
