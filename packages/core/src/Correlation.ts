import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"

/**
 * Which request or message the current work is for. Every event written while it is set carries
 * it: `correlation_id` ties all events of one business operation together (the HTTP request id,
 * or the correlation id of the command being handled), `causation_id` names the message that
 * directly caused them.
 */
export interface Correlation {
  readonly correlationId: string
  readonly causationId: string | null
}

export const CurrentCorrelation: FiberRef.FiberRef<Correlation | undefined> = FiberRef.unsafeMake<
  Correlation | undefined
>(undefined)

export const withCorrelation =
  (correlation: Correlation) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.locally(self, CurrentCorrelation, correlation)
