import { parseArgs } from "node:util"
import { DatabaseLive, ProjectionReplay } from "@notification-service/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { parseCommandLine, positiveInteger, runCli } from "../Cli.js"
import { makeProgress } from "../Progress.js"

const usage = `npm run replay -- [options]

Rebuilds the notifications projection (and the per-user counters) from the event store.

  --batch-size N      aggregates per batch (default 500)
  --aggregate ID      rebuild one notification only, from its latest snapshot plus later events
  --no-snapshots      with --aggregate: fold every event, ignoring snapshots
  --json              print the summary as one JSON document
  --help              this text

DATABASE_URL names the database (else the embedded one under DATA_DIR).`

const program = Effect.gen(function* () {
  const options = yield* parseCommandLine(
    (args) =>
      parseArgs({
        args,
        strict: true,
        options: {
          "batch-size": { type: "string", default: "500" },
          aggregate: { type: "string" },
          "no-snapshots": { type: "boolean", default: false },
          json: { type: "boolean", default: false },
          help: { type: "boolean", default: false }
        }
      }).values
  )
  if (options.help) return yield* Console.log(usage)
  const batchSize = yield* positiveInteger("batch-size", options["batch-size"])
  const replay = yield* ProjectionReplay
  if (options.aggregate !== undefined) {
    const state = yield* replay.rebuildOne(options.aggregate, { snapshots: !options["no-snapshots"] })
    const found = Option.isSome(state)
    return yield* Console.log(
      options.json
        ? JSON.stringify({ aggregate: options.aggregate, found, version: found ? state.value.version : null })
        : found
          ? `rebuilt ${options.aggregate} at version ${String(state.value.version)}`
          : `no events for ${options.aggregate}`
    )
  }
  const progress = yield* makeProgress("replay", { unit: "notifications" })
  const summary = yield* replay.rebuildAll({ batchSize, onProgress: ({ done, total }) => progress.update(done, total) })
  yield* progress.finish
  yield* Console.log(
    options.json
      ? JSON.stringify(summary)
      : `rebuilt ${summary.aggregates} notifications from ${summary.events} events; ${summary.counters} counter rows` +
          (summary.orphans > 0 ? `; ${summary.orphans} rows have no events (left alone)` : "")
  )
})

runCli(program, ProjectionReplay.Default.pipe(Layer.provide(DatabaseLive)), usage)
