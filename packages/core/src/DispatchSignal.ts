import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"

/**
 * Tells an in-process dispatch loop that work became due, so a notification accepted now is
 * dispatched now rather than at the next poll. Wake-ups coalesce: one pending signal is enough.
 */
export class DispatchSignal extends Effect.Service<DispatchSignal>()("core/DispatchSignal", {
  effect: Effect.gen(function* () {
    const queue = yield* Queue.sliding<void>(1)
    return {
      wake: Queue.offer(queue, undefined).pipe(Effect.asVoid),
      /** Waits for a wake-up, then clears any that piled up meanwhile. */
      awaitWake: Effect.zipRight(Queue.take(queue), Queue.takeAll(queue)).pipe(Effect.asVoid)
    } as const
  })
}) {}
