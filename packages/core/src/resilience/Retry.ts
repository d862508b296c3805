/**
 * Retries with capped exponential backoff and full jitter, for errors the caller says are
 * transient. Permanent errors are returned at once, and a server-requested wait (`Retry-After`)
 * is honoured — or, when it is longer than the policy allows, handed back to the caller so that
 * it can reschedule the work instead of holding on to a worker.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"

export interface RetryPolicy {
  /** Total attempts, the first one included; `1` means no retry. Values below 1 behave as 1. */
  readonly maxAttempts: number
  /** The delay before the first retry (before jitter). */
  readonly baseDelay: Duration.DurationInput
  /** Each retry waits `backoffFactor` times longer than the previous one (before the cap). */
  readonly backoffFactor: number
  /** Upper bound of a single computed delay, and of an acceptable `Retry-After`. */
  readonly maxDelay: Duration.DurationInput
  /**
   * "Full jitter" (AWS architecture blog, "Exponential Backoff And Jitter"): wait a uniformly
   * random time between 0 and the capped delay, so that clients failing together do not retry
   * together. Uses the `Random` service, so tests control it.
   */
  readonly jitter: boolean
}

/**
 * The delays of a policy: `min(baseDelay * backoffFactor^n, maxDelay)`, fully jittered when the
 * policy asks for it, for at most `maxAttempts - 1` recurrences. Outputs the delay it applies.
 * Input-agnostic, so it can drive `Effect.retry`, `Effect.repeat` or be combined further.
 */
export const schedule = (policy: RetryPolicy): Schedule.Schedule<Duration.Duration, unknown> => {
  const maxDelay = Duration.decode(policy.maxDelay)
  const capped = Schedule.exponential(policy.baseDelay, policy.backoffFactor).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, maxDelay))
  )
  const jittered = policy.jitter
    ? capped.pipe(Schedule.modifyDelayEffect((_, delay) => Effect.map(Random.next, (r) => Duration.times(delay, r))))
    : capped
  return Schedule.delays(jittered.pipe(Schedule.intersect(Schedule.recurs(Math.max(0, policy.maxAttempts - 1)))))
}

export interface RetryOptions<E, R2 = never> {
  /** Only these errors are retried; any other one is returned after the attempt that raised it. */
  readonly isRetryable: (error: E) => boolean
  /**
   * A wait the error itself demands (an HTTP `Retry-After`). The next retry waits at least that
   * long; if it is longer than `maxDelay`, retrying stops and the error is returned.
   */
  readonly retryAfter?: (error: E) => Duration.Duration | undefined
  /**
   * Called before every attempt with its 1-based number, the first attempt included. The last
   * number seen is how many attempts were made, whether the effect finally succeeded or not —
   * a hook rather than a wrapped result so that the error channel keeps the caller's own errors.
   */
  readonly onAttempt?: (attempt: number) => Effect.Effect<void, never, R2>
}

/**
 * Runs `self`, retrying it under `policy` while its errors are retryable. Fails with the last
 * error when the error is permanent, the attempts are used up, or a `Retry-After` exceeds
 * `maxDelay`.
 */
export const retry = <A, E, R, R2 = never>(
  self: Effect.Effect<A, E, R>,
  policy: RetryPolicy,
  options: RetryOptions<E, R2>
): Effect.Effect<A, E, R | R2> => {
  const maxDelay = Duration.decode(policy.maxDelay)
  const retryAfter = (error: E): Duration.Duration => options.retryAfter?.(error) ?? Duration.zero
  // Driven by the error: stops on a permanent error or an unacceptable Retry-After, and asks for
  // the Retry-After as its delay; intersecting with the policy takes the longer of the two delays.
  const byError = Schedule.identity<E>().pipe(
    Schedule.whileInput(
      (error: E) => options.isRetryable(error) && Duration.lessThanOrEqualTo(retryAfter(error), maxDelay)
    ),
    Schedule.addDelay(retryAfter)
  )
  const onAttempt = options.onAttempt
  if (onAttempt === undefined) return Effect.retry(self, Schedule.intersect(byError, schedule(policy)))
  return Effect.flatMap(Ref.make(0), (attempts) =>
    Effect.retry(
      Effect.zipRight(
        Effect.flatMap(
          Ref.updateAndGet(attempts, (n) => n + 1),
          onAttempt
        ),
        self
      ),
      Schedule.intersect(byError, schedule(policy))
    )
  )
}
