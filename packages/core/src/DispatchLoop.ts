import { NodeHttpClient } from "@effect/platform-node"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { DispatcherConfig } from "./AppConfig.js"
import { Dispatcher } from "./Dispatcher.js"
import { DispatchSignal } from "./DispatchSignal.js"
import { NotificationRepo } from "./NotificationRepo.js"

/**
 * The in-process dispatcher of the embedded default (no Kafka): a fiber that takes due
 * notifications in batches — pending ones, scheduled ones whose time came, lapsed leases — and
 * dispatches them with bounded concurrency. It wakes when a send signals new work and otherwise
 * polls, so scheduled work is picked up after a restart: it lives in the database.
 *
 * Shutdown is clean: the loop stops taking batches, the batch in flight finishes (within
 * `drainTimeout`), and only then do the layers below it (the database pool) close.
 */
export interface DispatchLoopOptions {
  readonly drainTimeout: Duration.DurationInput
  /** Leave just-accepted notifications this long to the Kafka dispatch consumer (the worker). */
  readonly freshPendingGrace?: Duration.DurationInput
}

export const makeDispatchLoop = (options: DispatchLoopOptions) =>
  Effect.gen(function* () {
    const config = yield* DispatcherConfig
    const dispatcher = yield* Dispatcher
    const repo = yield* NotificationRepo
    const signal = yield* DispatchSignal
    const stopping = yield* Ref.make(false)

    const batch = Effect.gen(function* () {
      const ids = yield* repo.dueIds(
        yield* DateTime.now,
        config.batchSize,
        Duration.decode(options.freshPendingGrace ?? 0)
      )
      yield* Effect.forEach(
        ids,
        (id) =>
          dispatcher
            .dispatch(id)
            .pipe(
              Effect.catchAllCause((cause) =>
                Effect.logError("dispatch failed; the notification stays due", cause).pipe(
                  Effect.annotateLogs({ notification_id: id })
                )
              )
            ),
        { concurrency: config.concurrency, discard: true }
      )
      return ids.length
    })

    const idle = Effect.raceFirst(signal.awaitWake, Effect.sleep(config.pollInterval))

    const loop = Effect.gen(function* () {
      while (!(yield* Ref.get(stopping))) {
        const taken = yield* batch.pipe(
          Effect.catchAllCause((cause) => Effect.as(Effect.logError("dispatch loop: batch failed", cause), 0))
        )
        // A full batch means more is probably due: go again at once.
        if (taken < config.batchSize && !(yield* Ref.get(stopping))) yield* idle
      }
    })

    // Scoped, not a child of the fiber building the layer (which ends once the layer is built).
    const fiber = yield* Effect.forkScoped(loop)
    yield* Effect.logInfo("dispatcher started").pipe(
      Effect.annotateLogs({ concurrency: config.concurrency, poll_interval: Duration.format(config.pollInterval) })
    )

    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        yield* Ref.set(stopping, true)
        yield* signal.wake
        const drained = yield* Fiber.await(fiber).pipe(Effect.timeout(options.drainTimeout), Effect.option)
        if (drained._tag === "None") {
          yield* Effect.logWarning("dispatcher did not drain in time; leases of unfinished sends will lapse")
          yield* Fiber.interrupt(fiber)
        }
        yield* Effect.logInfo("dispatcher stopped")
      })
    )
  })

/**
 * Runs the loop for the life of the layer when `DISPATCHER_ENABLED` (by default: when Kafka is not
 * configured), or always with `always` (the worker).
 */
export const DispatchLoopLive = (options: DispatchLoopOptions & { readonly always?: boolean }) =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const { enabled } = yield* DispatcherConfig
      if (!enabled && options.always !== true) {
        return yield* Effect.logInfo("in-process dispatcher off (DISPATCHER_ENABLED=false, or Kafka configured)")
      }
      yield* makeDispatchLoop(options)
    })
  )

/** The loop with everything it runs on except the database and the shared `DispatchSignal`. */
export const DispatcherLive = (options: DispatchLoopOptions) =>
  DispatchLoopLive(options).pipe(
    Layer.provide(Dispatcher.Default),
    Layer.provide(NotificationRepo.Default),
    Layer.provide(NodeHttpClient.layerUndici)
  )
