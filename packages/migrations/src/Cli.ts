import { NodeRuntime } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import { type Entity, entities } from "./legacy/Backfill.js"

/** Bad command-line arguments: the message and the usage go to stderr, and the exit code is 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Runs `parse` (node:util `parseArgs`, say) on the arguments; what it throws is a usage error. */
export const parseCommandLine = <A>(parse: (args: Array<string>) => A): Effect.Effect<A, UsageError> =>
  Effect.try({
    try: () => parse(process.argv.slice(2)),
    catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) })
  })

export const positiveInteger = (name: string, value: string | undefined, { zero = false } = {}) => {
  const parsed = Number(value)
  return Number.isInteger(parsed) && (parsed > 0 || (zero && parsed === 0))
    ? Effect.succeed(parsed)
    : Effect.fail(new UsageError({ message: `--${name} must be a ${zero ? "non-negative" : "positive"} integer` }))
}

/** `--only templates,preferences`: a subset of the tables, in the fixed order. */
export const onlyEntities = (value: string | undefined): Effect.Effect<ReadonlyArray<Entity>, UsageError> => {
  if (value === undefined) return Effect.succeed(entities)
  const asked = value.split(",").map((part) => part.trim())
  const unknown = asked.filter((part) => !(entities as ReadonlyArray<string>).includes(part))
  return unknown.length > 0
    ? Effect.fail(new UsageError({ message: `--only: unknown table ${unknown.join(", ")} (${entities.join(", ")})` }))
    : Effect.succeed(entities.filter((entity) => asked.includes(entity)))
}

/** Runs a command-line program: logs at WARN and above only, usage errors as exit code 2. */
export const runCli = <E, R>(
  program: Effect.Effect<void, E | UsageError, R>,
  layer: Layer.Layer<R, unknown>,
  usage: string
): void =>
  program.pipe(
    Effect.catchIf(
      (error): error is UsageError => error instanceof UsageError,
      (error) =>
        Effect.zipRight(
          Console.error(`${error.message}\n\n${usage}`),
          Effect.sync(() => {
            process.exitCode = 2
          })
        )
    ),
    Effect.provide(layer),
    Logger.withMinimumLogLevel(LogLevel.Warning),
    (effect) =>
      NodeRuntime.runMain(effect, {
        // Ctrl-C (or SIGTERM) stops the run between batches: 130, as shells report an interrupted command.
        teardown: (exit, onExit) =>
          onExit(Exit.isSuccess(exit) ? Number(process.exitCode ?? 0) : Cause.isInterruptedOnly(exit.cause) ? 130 : 1)
      })
  )
