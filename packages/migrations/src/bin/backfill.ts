import { parseArgs } from "node:util"
import { DatabaseLive, LegacyImport, LegacyMapping } from "@notification-service/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import { onlyEntities, parseCommandLine, positiveInteger, runCli } from "../Cli.js"
import { backfill, type Entity } from "../legacy/Backfill.js"
import { makeProgress, type Progress } from "../Progress.js"

const usage = `npm run legacy:backfill -- [options]

Copies the monolith's templates, preferences and logs into the service (upsert by legacy id),
resuming after the last batch a previous run committed. Never writes to the legacy database.

  --batch-size N        rows per batch (default 5000)
  --rows-per-second N   throttle, so it can run beside production traffic (default 0: no limit)
  --only T[,T]          some of: templates, preferences, notifications
  --dry-run             read and map everything, write nothing
  --restart             ignore the checkpoints and start from the first row
  --json                print the summary as one JSON document
  --help                this text

LEGACY_DATABASE_URL is the monolith's database, DATABASE_URL the service's; LEGACY_TIME_ZONE
(default Europe/London) is the zone of the monolith's naive timestamps.`

const program = Effect.gen(function* () {
  const options = yield* parseCommandLine(
    (args) =>
      parseArgs({
        args,
        strict: true,
        options: {
          "batch-size": { type: "string", default: "5000" },
          "rows-per-second": { type: "string", default: "0" },
          only: { type: "string" },
          "dry-run": { type: "boolean", default: false },
          restart: { type: "boolean", default: false },
          json: { type: "boolean", default: false },
          help: { type: "boolean", default: false }
        }
      }).values
  )
  if (options.help) return yield* Console.log(usage)
  const settings = {
    batchSize: yield* positiveInteger("batch-size", options["batch-size"]),
    rowsPerSecond: yield* positiveInteger("rows-per-second", options["rows-per-second"], { zero: true }),
    only: yield* onlyEntities(options.only),
    dryRun: options["dry-run"],
    restart: options.restart
  }
  const bars = yield* Ref.make(new Map<Entity, Progress>())
  const summary = yield* backfill(settings, (entity, done, total) =>
    Effect.gen(function* () {
      const existing = (yield* Ref.get(bars)).get(entity)
      const bar = existing ?? (yield* makeProgress(`backfill ${entity}`, { unit: "rows" }))
      if (existing === undefined) yield* Ref.update(bars, (map) => new Map(map).set(entity, bar))
      yield* bar.update(done, total)
      if (done >= total) yield* bar.finish
    })
  )
  if (options.json) return yield* Console.log(JSON.stringify(summary))
  for (const s of summary.entities) {
    yield* Console.log(
      `${s.entity}: read ${s.read} (after legacy id ${s.resumedAfter}), inserted ${s.inserted}, updated ${s.updated}, ` +
        `unchanged ${s.unchanged}, rejected ${s.rejected.length}; ${s.rowsPerSecond} rows/s` +
        (summary.dryRun ? " (dry run: nothing written)" : "")
    )
    for (const r of s.rejected.slice(0, 20)) yield* Console.log(`  rejected ${s.entity} ${r.legacyId}: ${r.reason}`)
  }
})

runCli(
  program,
  Layer.mergeAll(LegacyImport.Default, LegacyMapping.LegacySqlLive).pipe(Layer.provideMerge(DatabaseLive)),
  usage
)
