import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import { Failover } from "../../src/resilience/index.js"

class SendError extends Schema.TaggedError<SendError>()("SendError", {
  provider: Schema.String,
  retryable: Schema.Boolean
}) {}

type Behaviour = "ok" | "retryable" | "permanent" | "die"

/** Providers that behave as scripted and record the order in which they were called. */
const providers = (behaviours: Record<string, Behaviour>) =>
  Effect.map(Ref.make<ReadonlyArray<string>>([]), (called) => ({
    called,
    send: (provider: string) =>
      Effect.zipRight(
        Ref.update(called, (xs) => [...xs, provider]),
        Effect.suspend(() => {
          switch (behaviours[provider]) {
            case "ok":
              return Effect.succeed(`sent by ${provider}`)
            case "die":
              return Effect.die(`${provider} crashed`)
            default:
              return Effect.fail(new SendError({ provider, retryable: behaviours[provider] === "retryable" }))
          }
        })
      )
  }))

const options = { shouldFailover: (e: SendError) => e.retryable }

describe("Failover.failover", () => {
  it.effect("uses the first candidate when it succeeds, and never calls the next", () =>
    Effect.gen(function* () {
      const { called, send } = yield* providers({ a: "ok", b: "ok" })
      const result = yield* Failover.failover(["a", "b"], send, options)
      expect(result).toEqual({ value: "sent by a", candidate: "a", tried: [] })
      expect(yield* Ref.get(called)).toEqual(["a"])
    })
  )

  it.effect("moves on after an error to fail over on, and reports who succeeded and who failed", () =>
    Effect.gen(function* () {
      const { called, send } = yield* providers({ a: "retryable", b: "retryable", c: "ok", d: "ok" })
      const result = yield* Failover.failover(["a", "b", "c", "d"], send, options)
      expect(result.value).toBe("sent by c")
      expect(result.candidate).toBe("c")
      expect(result.tried.map(({ candidate, error }) => [candidate, error.provider])).toEqual([
        ["a", "a"],
        ["b", "b"]
      ])
      expect(yield* Ref.get(called)).toEqual(["a", "b", "c"])
    })
  )

  it.effect("returns an error not to fail over on at once, without trying the next", () =>
    Effect.gen(function* () {
      const { called, send } = yield* providers({ a: "permanent", b: "ok" })
      const error = yield* Effect.flip(Failover.failover(["a", "b"], send, options))
      expect(error).toEqual(new SendError({ provider: "a", retryable: false }))
      expect(yield* Ref.get(called)).toEqual(["a"])
    })
  )

  it.effect("returns the last error when every candidate fails, and reports each failure", () =>
    Effect.gen(function* () {
      const { called, send } = yield* providers({ a: "retryable", b: "retryable", c: "retryable" })
      const failures = yield* Ref.make<ReadonlyArray<string>>([])
      const error = yield* Effect.flip(
        Failover.failover(["a", "b", "c"], send, {
          ...options,
          onFailure: ({ candidate, error }) => Ref.update(failures, (xs) => [...xs, `${candidate}:${error.provider}`])
        })
      )
      expect(error.provider).toBe("c")
      expect(yield* Ref.get(called)).toEqual(["a", "b", "c"])
      expect(yield* Ref.get(failures)).toEqual(["a:a", "b:b", "c:c"])
    })
  )

  it.effect("reports the failure that stopped it too", () =>
    Effect.gen(function* () {
      const { send } = yield* providers({ a: "retryable", b: "permanent", c: "ok" })
      const failures = yield* Ref.make<ReadonlyArray<string>>([])
      const error = yield* Effect.flip(
        Failover.failover(["a", "b", "c"], send, {
          ...options,
          onFailure: ({ candidate }) => Ref.update(failures, (xs) => [...xs, candidate])
        })
      )
      expect(error.provider).toBe("b")
      expect(yield* Ref.get(failures)).toEqual(["a", "b"])
    })
  )

  it.effect("does not fail over on a defect", () =>
    Effect.gen(function* () {
      const { called, send } = yield* providers({ a: "die", b: "ok" })
      const exit = yield* Effect.exit(Failover.failover(["a", "b"], send, options))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* Ref.get(called)).toEqual(["a"])
    })
  )

  it.effect("works with a single candidate", () =>
    Effect.gen(function* () {
      const { send } = yield* providers({ a: "retryable" })
      expect((yield* Effect.flip(Failover.failover(["a"], send, options))).provider).toBe("a")
    })
  )
})
