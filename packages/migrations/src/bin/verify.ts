import { parseArgs } from "node:util"
import { DatabaseLive, LegacyMapping } from "@notification-service/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { onlyEntities, parseCommandLine, positiveInteger, runCli } from "../Cli.js"
import { verify } from "../legacy/Verify.js"

const usage = `npm run legacy:verify -- [options]

Compares the monolith's rows (mapped as the backfill maps them) with the service's: counts and
checksums per range of legacy ids, computed inside each database, then the ids that differ.
Exits 1 when anything differs.

  --range-size N   legacy ids per checksum range (default 10000)
  --parallel N     ranges checksummed at once on each side (default 4)
  --max-ids N      mismatching ids listed per table (default 100)
  --only T[,T]     some of: templates, preferences, notifications
  --json           print the report as one JSON document
  --help           this text

LEGACY_DATABASE_URL is the monolith's database, DATABASE_URL the service's.`

const program = Effect.gen(function* () {
  const options = yield* parseCommandLine(
    (args) =>
      parseArgs({
        args,
        strict: true,
        options: {
          "range-size": { type: "string", default: "10000" },
          parallel: { type: "string", default: "4" },
          "max-ids": { type: "string", default: "100" },
          only: { type: "string" },
          json: { type: "boolean", default: false },
          help: { type: "boolean", default: false }
        }
      }).values
  )
  if (options.help) return yield* Console.log(usage)
  const report = yield* verify({
    rangeSize: yield* positiveInteger("range-size", options["range-size"]),
    parallel: yield* positiveInteger("parallel", options.parallel),
    maxIds: yield* positiveInteger("max-ids", options["max-ids"]),
    only: yield* onlyEntities(options.only)
  })
  if (options.json) yield* Console.log(JSON.stringify(report))
  else {
    for (const e of report.entities) {
      const ranges = e.mismatchedRanges.map(([from, to]) => `${from}-${to}`).join(", ")
      yield* Console.log(
        `${e.entity}: legacy ${e.legacyRows}, service ${e.serviceRows}, ${e.mismatchedRanges.length} mismatching ranges` +
          (ranges === "" ? "" : ` (${ranges})`)
      )
      if (e.missingInService.length > 0)
        yield* Console.log(`  missing in the service: ${e.missingInService.join(", ")}`)
      if (e.extraInService.length > 0) yield* Console.log(`  only in the service: ${e.extraInService.join(", ")}`)
      if (e.different.length > 0) yield* Console.log(`  different: ${e.different.join(", ")}`)
    }
    yield* Console.log(`${report.ok ? "OK: no mismatches" : "MISMATCH"} (${report.seconds.toFixed(1)} s)`)
  }
  if (!report.ok) process.exitCode = 1
})

runCli(program, LegacyMapping.LegacySqlLive.pipe(Layer.provideMerge(DatabaseLive)), usage)
