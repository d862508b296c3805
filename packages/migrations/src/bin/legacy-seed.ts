import { readFile } from "node:fs/promises"
import { parseArgs } from "node:util"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import { parseCommandLine, positiveInteger, runCli, UsageError } from "../Cli.js"
import { LegacySeed, type SeedPhase, type SeedProgress } from "../legacy/Seed.js"
import { makeProgress, type Progress } from "../Progress.js"

const usage = `npm run legacy:seed -- [options]

Fills an empty copy of the monolith's database (legacy/schema.sql) with realistic users, profiles,
preferences, templates and notification logs, for rehearsing the migration at volume.

  --users N           auth_user rows, most with a profile, about half with preferences (default 1000)
  --templates N       notification templates (default 20)
  --logs N            notification logs (default 10000)
  --batch-size N      rows per INSERT statement (default 50000)
  --seed N            any integer (default 1): the same seed, batch size and --until give the same data
  --until YYYY-MM-DD  the day the generated history ends (default today, UTC); give it when comparing
                      runs made on different days
  --create-schema     apply legacy/schema.sql first (the database must not have the tables yet)
  --json              print the summary as one JSON document
  --help              this text

LEGACY_DATABASE_URL names the database (required).`

/** legacy/schema.sql is not where it should be (a build copied without it, say). */
class SchemaUnreadable extends Data.TaggedError("SchemaUnreadable")<{ readonly message: string }> {}

const parse = (args: Array<string>) =>
  parseArgs({
    args,
    strict: true,
    options: {
      users: { type: "string", default: "1000" },
      templates: { type: "string", default: "20" },
      logs: { type: "string", default: "10000" },
      "batch-size": { type: "string", default: "50000" },
      seed: { type: "string", default: "1" },
      until: { type: "string" },
      "create-schema": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false }
    }
  }).values

const validate = (values: ReturnType<typeof parse>) =>
  Effect.gen(function* () {
    const options = {
      users: yield* positiveInteger("users", values.users, { zero: true }),
      templates: yield* positiveInteger("templates", values.templates, { zero: true }),
      logs: yield* positiveInteger("logs", values.logs, { zero: true }),
      batchSize: yield* positiveInteger("batch-size", values["batch-size"]),
      seed: Number(values.seed)
    }
    if (!/^-?\d+$/.test(values.seed) || !Number.isSafeInteger(options.seed)) {
      return yield* new UsageError({ message: "--seed must be an integer" })
    }
    // Logs draw their user and template among the generated ones.
    if (options.logs > 0 && (options.users === 0 || options.templates === 0)) {
      return yield* new UsageError({ message: "--logs needs at least one user and one template" })
    }
    const until = values.until
    if (
      until !== undefined &&
      (!/^\d{4}-\d{2}-\d{2}$/.test(until) || new Date(`${until}T00:00:00Z`).toISOString().slice(0, 10) !== until)
    ) {
      return yield* new UsageError({ message: `--until must be a date, YYYY-MM-DD, not ${JSON.stringify(until)}` })
    }
    return { ...options, until }
  })

/**
 * `legacy/schema.sql`, two levels up from this module: `src/bin` when run with tsx, `dist/bin`
 * once compiled; both sit in the package next to `legacy/`.
 */
const schemaFile = new URL("../../legacy/schema.sql", import.meta.url)

const readSchema = Effect.tryPromise({
  try: () => readFile(schemaFile, "utf8"),
  catch: (error) => new SchemaUnreadable({ message: `cannot read the legacy schema: ${String(error)}` })
})

const LegacyDatabase = Layer.unwrapEffect(
  Config.redacted("LEGACY_DATABASE_URL").pipe(
    Effect.mapError(
      () =>
        new UsageError({ message: "LEGACY_DATABASE_URL is not set: it names the legacy (monolith) database to seed" })
    ),
    Effect.filterOrFail(
      (url) => Redacted.value(url) !== "",
      () => new UsageError({ message: "LEGACY_DATABASE_URL is empty: it names the legacy (monolith) database to seed" })
    ),
    // One statement at a time (each batch a transaction of its own): one connection is all it takes.
    Effect.map((url) => PgClient.layer({ url, maxConnections: 1, applicationName: "legacy-seed" }))
  )
)

/** A bar per phase, started when its phase begins so that its rate is its own; finished when it is done. */
const phaseBars = Effect.map(
  Ref.make(new Map<SeedPhase, Progress>()),
  (bars) =>
    ({ phase, done, total }: SeedProgress) =>
      Effect.gen(function* () {
        const existing = (yield* Ref.get(bars)).get(phase)
        const bar = existing ?? (yield* makeProgress(`seed ${phase}`, { unit: phase }))
        if (existing === undefined) yield* Ref.update(bars, (map) => new Map(map).set(phase, bar))
        yield* bar.update(done, total)
        if (done >= total) yield* bar.finish
      })
)

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 })

const program = Effect.gen(function* () {
  const values = yield* parseCommandLine(parse)
  if (values.help) return yield* Console.log(usage)
  const options = yield* validate(values)
  const until = options.until ?? new Date(yield* Clock.currentTimeMillis).toISOString().slice(0, 10)
  const run = Effect.gen(function* () {
    const seeder = yield* LegacySeed
    if (values["create-schema"]) yield* seeder.createSchema(yield* readSchema)
    return yield* seeder.seed(
      {
        users: options.users,
        templates: options.templates,
        logs: options.logs,
        batchSize: options.batchSize,
        seed: options.seed,
        until
      },
      yield* phaseBars
    )
  })
  const summary = yield* run.pipe(Effect.provide(LegacySeed.Default.pipe(Layer.provide(LegacyDatabase))))
  yield* Console.log(
    values.json
      ? JSON.stringify({ ...summary, schemaCreated: values["create-schema"] })
      : `seeded ${integer.format(summary.users)} users (${integer.format(summary.profiles)} profiles, ` +
          `${integer.format(summary.preferences)} preferences), ${integer.format(summary.templates)} templates and ` +
          `${integer.format(summary.logs)} logs in ${(summary.millis / 1000).toFixed(1)}s ` +
          `(${integer.format(summary.rowsPerSecond)} rows/s); seed ${summary.seed}, until ${summary.until}`
  )
}).pipe(
  // Refusals and database failures: one line and exit code 1, rather than a stack trace. The
  // database layer is provided here, not by runCli, so that --help and bad arguments need none.
  Effect.catchIf(
    (error) => !(error instanceof UsageError),
    (error) =>
      Effect.zipRight(
        Console.error(
          error instanceof SqlError
            ? `legacy-seed: ${error.message}: ${error.cause instanceof Error ? error.cause.message : String(error.cause)}`
            : `legacy-seed: ${error.message}`
        ),
        Effect.sync(() => {
          process.exitCode = 1
        })
      )
  )
)

runCli(program, Layer.empty, usage)
