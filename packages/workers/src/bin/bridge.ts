import { parseArgs } from "node:util"
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import {
  type ConcurrencyConflict,
  DatabaseLive,
  EventStore,
  LegacyMapping,
  LoggingLive,
  TelemetryLive
} from "@notification-service/core"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { healthServer } from "../Health.js"
import { BridgeConfig, backoff, bridgeClient, forwardLag, forwardStep, type ServiceRefused } from "../legacy/Bridge.js"
import { type Direction, holdDirection } from "../legacy/Directions.js"
import { reverseLag, reverseStep } from "../legacy/ReverseSync.js"

const usage = `npm run bridge -- [options]

Keeps the service and the monolith in step while the monolith is migrated (MIGRATION.md).

  --direction forward   (default) the monolith's changes (notifications_legacy_changes, filled by
                        legacy/outbox.sql's triggers) are applied to the service through its
                        internal API /internal/v1/legacy
  --direction reverse   the service's notifications are written back into the monolith's
                        notifications_notificationlog (the rollback window of phase 4)
  --only T[,T]          tables: templates, preferences, notifications (reverse: notifications only)
  --until-idle          exit once every change recorded so far is applied (default: run until stopped)
  --help                this text

A table syncs in one direction at a time: a second bridge for the same table, in either
direction, is refused. Settings (environment): DATABASE_URL (the service's database),
LEGACY_DATABASE_URL, LEGACY_TIME_ZONE, NOTIFICATION_SERVICE_URL, NOTIFICATION_SERVICE_API_KEY (scope
migration:write), BRIDGE_BATCH_SIZE, BRIDGE_CONCURRENCY, BRIDGE_POLL_INTERVAL, BRIDGE_PORT
(probes and /metrics, default 3002).`

class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

const entities = LegacyMapping.entities

const parse = Effect.try({
  try: () =>
    parseArgs({
      args: process.argv.slice(2),
      strict: true,
      options: {
        direction: { type: "string", default: "forward" },
        only: { type: "string" },
        "until-idle": { type: "boolean", default: false },
        help: { type: "boolean", default: false }
      }
    }).values,
  catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) })
})

const options = Effect.gen(function* () {
  const values = yield* parse
  const direction = values.direction
  if (direction !== "forward" && direction !== "reverse") {
    return yield* new UsageError({ message: "--direction must be forward or reverse" })
  }
  const asked = values.only?.split(",").map((part) => part.trim()) ?? (direction === "reverse" ? ["notifications"] : [])
  const unknown = asked.filter((part) => !(entities as ReadonlyArray<string>).includes(part))
  if (unknown.length > 0) return yield* new UsageError({ message: `--only: unknown table ${unknown.join(", ")}` })
  const only = asked.length === 0 ? entities : entities.filter((entity) => asked.includes(entity))
  if (direction === "reverse" && only.some((entity) => entity !== "notifications")) {
    return yield* new UsageError({ message: "the reverse direction syncs notifications only" })
  }
  return { help: values.help, direction: direction as Direction, only, untilIdle: values["until-idle"] }
})

type StepError = SqlError | ServiceRefused | ConfigError.ConfigError | ConcurrencyConflict
type StepNeeds = SqlClient.SqlClient | LegacyMapping.LegacySql | EventStore

const program = Effect.gen(function* () {
  const { help, direction, only, untilIdle } = yield* options
  if (help) return yield* Console.log(usage)
  const config = yield* BridgeConfig
  const client = yield* bridgeClient(config)
  yield* holdDirection(direction, only)
  yield* Effect.logInfo("bridge started", { direction, tables: only.join(",") })
  const run = (entity: LegacyMapping.Entity) => {
    const step: Effect.Effect<number, StepError, StepNeeds> =
      direction === "forward" ? forwardStep(entity, client, config) : reverseStep(config)
    const lag: Effect.Effect<number, StepError, StepNeeds> = direction === "forward" ? forwardLag(entity) : reverseLag
    // Lag and backlog are measured after every step, so the gauges move during a long catch-up too.
    const round = Effect.zip(step, lag).pipe(
      Effect.repeat({ while: ([taken]) => taken > 0 }),
      Effect.map(([, pending]) => pending),
      Effect.tapError((error) => Effect.logWarning("bridge round failed; retrying", error)),
      Effect.retry({ schedule: backoff, while: (error) => error._tag === "SqlError" })
    )
    return untilIdle
      ? round.pipe(Effect.repeat({ while: (pending) => pending > 0, schedule: Schedule.spaced(config.pollInterval) }))
      : round.pipe(Effect.zipRight(Effect.sleep(config.pollInterval)), Effect.forever)
  }
  yield* Effect.forEach(only, run, { concurrency: "unbounded", discard: true })
  yield* Effect.logInfo("bridge idle: every recorded change is applied")
}).pipe(Effect.scoped)

const BridgeHealthLive = healthServer(
  Config.all({
    host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
    port: Config.integer("BRIDGE_PORT").pipe(Config.withDefault(3002))
  })
)

const needs = Layer.mergeAll(EventStore.Default, LegacyMapping.LegacySqlLive, NodeHttpClient.layerUndici).pipe(
  Layer.provideMerge(BridgeHealthLive),
  Layer.provideMerge(DatabaseLive),
  Layer.provide(TelemetryLive),
  Layer.provide(LoggingLive)
)

program.pipe(
  Effect.catchTag("UsageError", (error) =>
    Effect.zipRight(
      Console.error(`${error.message}\n\n${usage}`),
      Effect.sync(() => {
        process.exitCode = 2
      })
    )
  ),
  Effect.catchTag("DirectionTaken", (error) =>
    Effect.zipRight(
      Console.error(`bridge: ${error.message}`),
      Effect.sync(() => {
        process.exitCode = 1
      })
    )
  ),
  Effect.provide(needs),
  (effect) =>
    NodeRuntime.runMain(effect, {
      disablePrettyLogger: true,
      // Stopping a running bridge (SIGTERM, Ctrl-C) is its normal end: 0 once the round in flight is
      // done. A catch-up run (--until-idle) stopped early did not finish: 130, as shells report it.
      teardown: (exit, onExit) =>
        onExit(
          Exit.isSuccess(exit)
            ? Number(process.exitCode ?? 0)
            : Cause.isInterruptedOnly(exit.cause)
              ? process.argv.includes("--until-idle")
                ? 130
                : 0
              : 1
        )
    })
)
