import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

export type Phase = "starting" | "serving" | "draining"

/** Where the process is in its life; readiness and the request guards read it. */
export class Lifecycle extends Effect.Service<Lifecycle>()("server/Lifecycle", {
  effect: Effect.gen(function* () {
    const phase = yield* Ref.make<Phase>("starting")
    return {
      phase: Ref.get(phase),
      serving: Ref.set(phase, "serving"),
      draining: Ref.set(phase, "draining"),
      isDraining: Effect.map(Ref.get(phase), (p) => p === "draining")
    } as const
  })
}) {}
