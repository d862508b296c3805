/**
 * Ordered failover: try candidates (providers, regions, replicas) one after the other until one
 * succeeds, moving on only for errors that another candidate might not have — a timeout or an
 * open circuit, not a request the next one would refuse just the same.
 */
import * as Arr from "effect/Array"
import * as Effect from "effect/Effect"

/** A candidate that was tried and failed. */
export interface Failed<P, E> {
  readonly candidate: P
  readonly error: E
}

export interface Success<P, A, E> {
  readonly value: A
  /** The candidate that succeeded. */
  readonly candidate: P
  /** The candidates that failed before it, in order. */
  readonly tried: ReadonlyArray<Failed<P, E>>
}

export interface FailoverOptions<P, E, R2 = never> {
  /** Whether to try the next candidate after this error; otherwise the error is returned at once. */
  readonly shouldFailover: (error: E) => boolean
  /**
   * Called for every candidate that fails, the last one included, before moving on or giving up:
   * how a caller learns which candidates were tried when none succeeded, while the error channel
   * keeps the candidate's own error type.
   */
  readonly onFailure?: (failed: Failed<P, E>) => Effect.Effect<void, never, R2>
}

/**
 * Runs `attempt` on each candidate in order and succeeds with the first success. Fails with the
 * error of the last candidate tried: the first error not to fail over on, or the last
 * candidate's error when all of them failed. Defects and interruptions are not failed over.
 */
export const failover = <P, A, E, R, R2 = never>(
  candidates: Arr.NonEmptyReadonlyArray<P>,
  attempt: (candidate: P) => Effect.Effect<A, E, R>,
  options: FailoverOptions<P, E, R2>
): Effect.Effect<Success<P, A, E>, E, R | R2> => {
  const onFailure = options.onFailure ?? (() => Effect.void)
  const loop = (
    candidate: P,
    rest: ReadonlyArray<P>,
    tried: ReadonlyArray<Failed<P, E>>
  ): Effect.Effect<Success<P, A, E>, E, R | R2> =>
    Effect.matchEffect(attempt(candidate), {
      onSuccess: (value) => Effect.succeed({ value, candidate, tried }),
      onFailure: (error) => {
        const failed: Failed<P, E> = { candidate, error }
        return Effect.zipRight(
          onFailure(failed),
          Arr.isNonEmptyReadonlyArray(rest) && options.shouldFailover(error)
            ? loop(Arr.headNonEmpty(rest), Arr.tailNonEmpty(rest), [...tried, failed])
            : Effect.fail(error)
        )
      }
    })
  return Effect.suspend(() => loop(Arr.headNonEmpty(candidates), Arr.tailNonEmpty(candidates), []))
}
