import { readFile } from "node:fs/promises"
import { parseArgs } from "node:util"
import { LegacyMapping } from "@notification-service/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { parseCommandLine, runCli } from "../Cli.js"

const usage = `npm run legacy:prepare -- [--help]

Phase 0 of MIGRATION.md, on the monolith's database (LEGACY_DATABASE_URL): applies
legacy/outbox.sql — the change log table, its triggers on the three notifications tables and the
indexes the bridge and shadow reads need. Idempotent: safe to run again. No Django code changes.`

/** `legacy/outbox.sql`, two levels up from `src/bin` (tsx) or `dist/bin` (compiled). */
const outboxFile = new URL("../../legacy/outbox.sql", import.meta.url)

const program = Effect.gen(function* () {
  const options = yield* parseCommandLine(
    (args) => parseArgs({ args, strict: true, options: { help: { type: "boolean", default: false } } }).values
  )
  if (options.help) return yield* Console.log(usage)
  const ddl = yield* Effect.promise(() => readFile(outboxFile, "utf8"))
  const legacy = yield* LegacyMapping.LegacySql
  // No parameters: one simple query holding every statement, in one transaction.
  yield* legacy.unsafe(ddl).pipe(legacy.withTransaction)
  const [installed] = yield* legacy<{ readonly triggers: number }>`
    SELECT count(*)::int AS triggers FROM pg_trigger WHERE tgname = 'notifications_legacy_changes'`
  yield* Console.log(`legacy database prepared: change log and ${installed?.triggers ?? 0} triggers in place`)
})

runCli(program, LegacyMapping.LegacySqlLive, usage)
