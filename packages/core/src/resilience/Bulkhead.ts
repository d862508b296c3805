/**
 * A semaphore bulkhead: at most `maxConcurrentCalls` calls run at once, so one slow dependency
 * cannot take every fiber, connection or worker with it. A call that finds no free permit waits
 * for one at most `maxWait` (and at most `maxWaiting` calls wait), then fails with `BulkheadFull`.
 *
 * Metrics, all tagged `name`:
 * - `bulkhead_in_use` (gauge): calls holding a permit.
 * - `bulkhead_max_concurrent_calls` (gauge): the configured limit, to compare `in_use` with.
 * - `bulkhead_rejected_total` (counter): calls refused with `BulkheadFull`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

export interface BulkheadOptions {
  /** Identifies the bulkhead in metrics and `BulkheadFull`. */
  readonly name: string
  /** Calls allowed to run at the same time (at least 1). */
  readonly maxConcurrentCalls: number
  /** How long a call may wait for a permit; zero rejects at once when none is free. */
  readonly maxWait: Duration.DurationInput
  /**
   * How many calls may wait for a permit at the same time; further ones are rejected at once.
   * Defaults to no limit: waits are then bounded in time by `maxWait` only.
   */
  readonly maxWaiting?: number
}

/** No permit became free within `maxWait`, or too many calls were already waiting. */
export class BulkheadFull extends Schema.TaggedError<BulkheadFull>()("BulkheadFull", {
  name: Schema.String,
  maxConcurrentCalls: Schema.Number,
  message: Schema.String
}) {}

export interface Bulkhead {
  readonly name: string
  /** Runs `self` once it holds a permit; the permit is released however `self` ends. */
  readonly execute: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | BulkheadFull, R>
  /** Calls currently holding a permit. */
  readonly inUse: Effect.Effect<number>
}

const inUseGauge = Metric.gauge("bulkhead_in_use", { description: "Calls holding a bulkhead permit." })

const maxConcurrentCallsGauge = Metric.gauge("bulkhead_max_concurrent_calls", {
  description: "Configured maximum of concurrent calls of a bulkhead."
})

const rejectedTotal = Metric.counter("bulkhead_rejected_total", {
  description: "Calls refused by a full bulkhead.",
  incremental: true
})

export const make = (options: BulkheadOptions): Effect.Effect<Bulkhead> =>
  Effect.gen(function* () {
    const { name } = options
    const maxConcurrentCalls = Math.max(1, options.maxConcurrentCalls)
    const maxWait = Duration.decode(options.maxWait)
    const maxWaiting = options.maxWaiting ?? Number.POSITIVE_INFINITY
    const gauge = Metric.tagged(inUseGauge, "name", name)
    const rejected = Metric.tagged(rejectedTotal, "name", name)

    const semaphore = yield* Effect.makeSemaphore(maxConcurrentCalls)
    const inUse = yield* Ref.make(0)
    const waiting = yield* Ref.make(0)
    yield* Metric.set(Metric.tagged(maxConcurrentCallsGauge, "name", name), maxConcurrentCalls)
    yield* Metric.set(gauge, 0)

    const track = (delta: number) =>
      Effect.flatMap(
        Ref.updateAndGet(inUse, (n) => n + delta),
        (n) => Metric.set(gauge, n)
      )

    // Counted in `inUse` from the moment it holds the permit until it gives it back.
    const run = <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(
        track(1),
        () => self,
        () => track(-1)
      )

    const reject = (reason: string): Effect.Effect<never, BulkheadFull> =>
      Effect.zipRight(
        Metric.increment(rejected),
        Effect.fail(new BulkheadFull({ name, maxConcurrentCalls, message: `Bulkhead ${name} is full: ${reason}` }))
      )

    // Taking the permit in a fiber of its own, rather than timing out `take`, is what keeps it from
    // leaking: a take that completes just as the wait times out is found in the fiber's exit and
    // kept (or, if the caller was interrupted meanwhile, given back).
    const waitForPermit = (restore: <X, EX, RX>(effect: Effect.Effect<X, EX, RX>) => Effect.Effect<X, EX, RX>) =>
      Effect.flatMap(Effect.fork(Effect.interruptible(semaphore.take(1))), (taker) =>
        restore(Effect.timeoutOption(Fiber.await(taker), maxWait)).pipe(
          Effect.onInterrupt(() =>
            Effect.flatMap(Fiber.interrupt(taker), (exit) =>
              Exit.isSuccess(exit) ? semaphore.release(1) : Effect.void
            )
          ),
          Effect.flatMap(
            Option.match({
              onSome: (exit) => Effect.succeed(Exit.isSuccess(exit)),
              onNone: () => Effect.map(Fiber.interrupt(taker), Exit.isSuccess)
            })
          )
        )
      )

    const enqueue = Ref.modify(waiting, (n): readonly [boolean, number] =>
      n < maxWaiting ? [true, n + 1] : [false, n]
    )

    const waitThenRun = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | BulkheadFull, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(enqueue, (queued) =>
          queued
            ? Effect.flatMap(
                Effect.ensuring(
                  waitForPermit(restore),
                  Ref.update(waiting, (n) => n - 1)
                ),
                (acquired): Effect.Effect<A, E | BulkheadFull, R> =>
                  acquired
                    ? Effect.ensuring(restore(run(self)), semaphore.release(1))
                    : reject(`no permit within ${Duration.format(maxWait)}`)
              )
            : reject("too many calls waiting")
        )
      )

    // A free permit is taken at once even while others wait, as `Semaphore` itself does: waiters
    // are served as permits come back, without a strict first-come-first-served order.
    const execute = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | BulkheadFull, R> =>
      Effect.flatMap(
        semaphore.withPermitsIfAvailable(1)(run(self)),
        Option.match({
          onSome: Effect.succeed,
          onNone: () => (Duration.isZero(maxWait) ? reject("no free permit") : waitThenRun(self))
        })
      )

    return { name, execute, inUse: Ref.get(inUse) }
  })
