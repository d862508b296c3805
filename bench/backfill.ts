/**
 * The legacy backfill and verify at volume: how long copying the monolith's notification logs into
 * the service takes, and how long checking the copy takes. On the PostgreSQL server of DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/postgres) it creates two fresh databases, a legacy one
 * seeded by `legacy:seed` and a migrated service one, then runs the real command-line tools as child
 * processes, as an operator would: `legacy:backfill --json`, `legacy:verify --json` (which must find no
 * mismatch), and the backfill twice more (resumed from its checkpoints, and `--restart`: everything read
 * again, nothing may change). Both databases are dropped at the end, also when a step fails.
 *
 * Usage: npm run bench:backfill
 *        npm run bench:backfill -- --logs=20000 --users=2000 --write=false   (a quick run)
 * Options (or the BENCH_* variable of the same name): --logs, --users, --templates, --seed, --until,
 * --batch-size (the backfill's), --parallel and --compare-parallel (verify's), --range-size, --write.
 * Writes docs/benchmarks/backfill.md and backfill.json.
 */

import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { loadavg, totalmem } from "node:os"
import { fileURLToPath } from "node:url"
import { FileSystem } from "@effect/platform"
import { PgClient } from "@effect/sql-pg"
import { runMigrations } from "@notification-service/migrations"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import pg from "pg"
import * as Bench from "./support.js"

const root = fileURLToPath(new URL("..", import.meta.url))

// ---------------------------------------------------------------------------------------------
// Options: `--name=value` (or `--name value`) on the command line, else BENCH_NAME, else defaults.

const optionNames = [
  "logs",
  "users",
  "templates",
  "seed",
  "until",
  "batch-size",
  "parallel",
  "compare-parallel",
  "range-size",
  "write"
] as const

const BenchConfig = Config.all({
  /** The legacy data set (`legacy:seed`): the same seed, counts and `until` give the same rows. */
  logs: Config.integer("BENCH_LOGS").pipe(Config.withDefault(1_000_000)),
  users: Config.integer("BENCH_USERS").pipe(Config.withDefault(100_000)),
  templates: Config.integer("BENCH_TEMPLATES").pipe(Config.withDefault(50)),
  seed: Config.integer("BENCH_SEED").pipe(Config.withDefault(1)),
  /** Fixed rather than today, so that runs on different days copy the same rows. */
  until: Config.string("BENCH_UNTIL").pipe(Config.withDefault("2026-11-01")),
  /** `legacy:backfill --batch-size` (the tool's default is 5000). */
  batchSize: Config.integer("BENCH_BATCH_SIZE").pipe(Config.withDefault(5000)),
  /** `legacy:verify --parallel` for the first and last verify, and for the one in between (0 skips those two). */
  parallel: Config.integer("BENCH_PARALLEL").pipe(Config.withDefault(4)),
  compareParallel: Config.integer("BENCH_COMPARE_PARALLEL").pipe(Config.withDefault(1)),
  rangeSize: Config.integer("BENCH_RANGE_SIZE").pipe(Config.withDefault(10_000)),
  write: Config.boolean("BENCH_WRITE").pipe(Config.withDefault(true)),
  serverUrl: Config.string("DATABASE_URL").pipe(Config.withDefault("postgres://postgres@127.0.0.1:5432/postgres"))
})
type BenchConfig = Config.Config.Success<typeof BenchConfig>

// ---------------------------------------------------------------------------------------------
// What the tools print with --json (only the fields used here).

const SeedSummary = Schema.Struct({
  users: Schema.Number,
  profiles: Schema.Number,
  preferences: Schema.Number,
  templates: Schema.Number,
  logs: Schema.Number,
  logsByStatus: Schema.Record({ key: Schema.String, value: Schema.Number }),
  rows: Schema.Number,
  millis: Schema.Number,
  rowsPerSecond: Schema.Number
})
type SeedSummary = typeof SeedSummary.Type

const EntitySummary = Schema.Struct({
  entity: Schema.String,
  read: Schema.Number,
  inserted: Schema.Number,
  updated: Schema.Number,
  unchanged: Schema.Number,
  rejected: Schema.Array(Schema.Struct({ legacyId: Schema.Number, reason: Schema.String })),
  resumedAfter: Schema.Number,
  lastLegacyId: Schema.Number,
  seconds: Schema.Number,
  rowsPerSecond: Schema.Number
})
type EntitySummary = typeof EntitySummary.Type
const BackfillSummary = Schema.Struct({ dryRun: Schema.Boolean, entities: Schema.Array(EntitySummary) })
type BackfillSummary = typeof BackfillSummary.Type

const EntityReport = Schema.Struct({
  entity: Schema.String,
  legacyRows: Schema.Number,
  serviceRows: Schema.Number,
  mismatchedRanges: Schema.Array(Schema.Tuple(Schema.Number, Schema.Number)),
  missingInService: Schema.Array(Schema.Number),
  extraInService: Schema.Array(Schema.Number),
  different: Schema.Array(Schema.Number)
})
const VerifyReport = Schema.Struct({ ok: Schema.Boolean, seconds: Schema.Number, entities: Schema.Array(EntityReport) })
type VerifyReport = typeof VerifyReport.Type

const decodeJson =
  <A, I>(schema: Schema.Schema<A, I>, what: string) =>
  (stdout: string): Effect.Effect<A, Bench.BenchError> =>
    Schema.decodeUnknown(Schema.parseJson(schema))(stdout.trim()).pipe(
      Effect.mapError(
        (error) => new Bench.BenchError({ message: `${what}: unexpected --json output (${error.message}): ${stdout}` })
      )
    )

// ---------------------------------------------------------------------------------------------
// The server: one admin connection for its facts and for watching the two databases' sessions.

type Admin = pg.Client

const adminClient = (url: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new pg.Client({ connectionString: url, application_name: "bench-backfill" })
        await client.connect()
        return client
      },
      catch: (cause) => new Bench.BenchError({ message: `cannot connect to ${url}: ${String(cause)}` })
    }),
    (client) => Effect.promise(() => client.end())
  )

const query = <Row>(client: Admin, text: string, values: ReadonlyArray<unknown> = []) =>
  Effect.tryPromise({
    try: () => client.query(text, [...values]).then((result) => result.rows as Array<Row>),
    catch: (cause) => new Bench.BenchError({ message: `${text.trim().split("\n")[0]}: ${String(cause)}` })
  })

/** On its own connection to `url` (a database of the run): VACUUM cannot share a transaction. */
const onDatabase = <Row>(url: string, text: string) =>
  Effect.scoped(Effect.flatMap(adminClient(url), (client) => query<Row>(client, text)))

/** The server's settings that matter most for bulk writes and scans. */
const settingNames = [
  "shared_buffers",
  "work_mem",
  "maintenance_work_mem",
  "effective_io_concurrency",
  "synchronous_commit",
  "wal_compression",
  "max_wal_size",
  "checkpoint_timeout",
  "autovacuum"
] as const

// ---------------------------------------------------------------------------------------------
// One step: a command-line tool as a child process, from the sources as `npm run legacy:*` runs it.

interface StepResult {
  readonly step: string
  readonly command: string
  /** Wall clock from spawn to exit: process start-up (tsx compiling the sources) included. */
  readonly seconds: number
  /** The child's user + system CPU, in % of one core over `seconds` (Linux /proc, sampled every 250 ms). */
  readonly processCpuPercent: number | null
  /** Busy share of all cores, everyone's: the tool, PostgreSQL and other processes on the machine. */
  readonly machineCpuPercent: number
  readonly loadAverage1mBefore: number
  /** Average number of non-idle sessions per state on the two databases, sampled every 250 ms. */
  readonly databaseSessions: Record<string, number>
}

/** CPU seconds of a process so far (utime + stime, every thread), or undefined off Linux or once gone. */
const processCpuSeconds = (pid: number | undefined): number | undefined => {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return undefined
  }
}

interface Exited {
  readonly code: number | null
  readonly stdout: string
  readonly stderrTail: string
  readonly pid: number | undefined
}

/**
 * Spawns `node --import tsx --conditions=source <script> <args>` in the repository; its progress (stderr)
 * is passed through, its stdout kept. Interrupting the effect (Ctrl-C) ends the child.
 */
const spawnScript = (
  script: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  onPid: (pid: number | undefined) => void
) =>
  Effect.async<Exited, Bench.BenchError>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", script, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    onPid(child.pid)
    let stdout = ""
    let stderrTail = ""
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
    })
    child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString("utf8")
      process.stderr.write(text)
      stderrTail = (stderrTail + text).slice(-2000)
    })
    child.on("error", (error) => resume(Effect.fail(new Bench.BenchError({ message: `${script}: ${error.message}` }))))
    // "close" rather than "exit": both pipes are drained by then.
    child.on("close", (code) => resume(Effect.succeed({ code, stdout, stderrTail, pid: child.pid })))
    return Effect.sync(() => {
      child.kill("SIGTERM")
    })
  })

interface Run {
  readonly admin: Admin
  readonly databases: ReadonlyArray<string>
  readonly env: Record<string, string>
}

const runStep = (run: Run, step: string, script: string, args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    yield* Console.log(`\n[bench] ${step}: ${script} ${args.join(" ")}`)
    const loadBefore = loadavg()[0] ?? 0
    const machineBefore = yield* Bench.machineTimes
    let pid: number | undefined
    let lastCpu: number | undefined
    const sessions = new Map<string, number>()
    let samples = 0
    const sampler = yield* Effect.gen(function* () {
      lastCpu = processCpuSeconds(pid) ?? lastCpu
      const rows = yield* query<{ readonly side: string; readonly what: string; readonly n: number }>(
        run.admin,
        `SELECT CASE WHEN datname = $1 THEN 'legacy' ELSE 'service' END AS side,
           state || ' (' || coalesce(wait_event_type || ':' || wait_event, 'no wait') || ')' AS what, count(*)::int AS n
         FROM pg_stat_activity
         WHERE datname = ANY($2) AND state IS NOT NULL AND state <> 'idle'
         GROUP BY 1, 2`,
        [run.databases[0], run.databases]
      )
      samples += 1
      for (const row of rows) {
        const key = `${row.side}: ${row.what}`
        sessions.set(key, (sessions.get(key) ?? 0) + row.n)
      }
    }).pipe(Effect.repeat(Schedule.spaced("250 millis")), Effect.ignore, Effect.fork)
    const startedAt = Bench.nowMs()
    const exited = yield* spawnScript(script, args, run.env, (childPid) => {
      pid = childPid
    })
    const seconds = (Bench.nowMs() - startedAt) / 1000
    yield* Fiber.interrupt(sampler)
    const machineAfter = yield* Bench.machineTimes
    const averages = Object.fromEntries(
      [...sessions]
        .map(([what, n]) => [what, Bench.round(n / Math.max(1, samples), 2)] as const)
        .filter(([, n]) => n >= 0.01)
        .sort((a, b) => b[1] - a[1])
    )
    const result: StepResult = {
      step,
      command: `${script} ${args.join(" ")}`,
      seconds: Bench.round(seconds, 2),
      processCpuPercent: lastCpu === undefined ? null : Bench.round((lastCpu / seconds) * 100, 0),
      machineCpuPercent: Bench.machineShare(machineBefore, machineAfter),
      loadAverage1mBefore: Bench.round(loadBefore, 2),
      databaseSessions: averages
    }
    return { result, exited }
  })

const failed = (step: string, exited: Exited) =>
  new Bench.BenchError({ message: `${step}: exit code ${exited.code}\n${exited.stdout}\n${exited.stderrTail}` })

const seedScript = "packages/migrations/src/bin/legacy-seed.ts"
const prepareScript = "packages/migrations/src/bin/legacy-prepare.ts"
const backfillScript = "packages/migrations/src/bin/backfill.ts"
const verifyScript = "packages/migrations/src/bin/verify.ts"

const backfillStep = (run: Run, step: string, args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { result, exited } = yield* runStep(run, step, backfillScript, ["--json", ...args])
    if (exited.code !== 0) return yield* failed(step, exited)
    const summary = yield* decodeJson(BackfillSummary, step)(exited.stdout)
    return { ...result, summary }
  })

const verifyStep = (run: Run, step: string, parallel: number, rangeSize: number) =>
  Effect.gen(function* () {
    const { result, exited } = yield* runStep(run, step, verifyScript, [
      "--json",
      "--parallel",
      String(parallel),
      "--range-size",
      String(rangeSize)
    ])
    // Exit 1 with a report is a mismatch; anything else (no report) is a failure of the tool.
    if (exited.code !== 0 && exited.code !== 1) return yield* failed(step, exited)
    const report = yield* decodeJson(
      VerifyReport,
      step
    )(exited.stdout).pipe(
      Effect.catchAll((error) => (exited.code === 0 ? Effect.fail(error) : Effect.fail(failed(step, exited))))
    )
    const mismatches = report.entities.filter((e) => e.mismatchedRanges.length > 0 || e.legacyRows !== e.serviceRows)
    if (!report.ok || exited.code !== 0 || mismatches.length > 0) {
      return yield* new Bench.BenchError({
        message:
          `${step}: VERIFY FOUND MISMATCHES (exit code ${exited.code}):\n` +
          mismatches
            .map(
              (e) =>
                `  ${e.entity}: legacy ${e.legacyRows}, service ${e.serviceRows}, ${e.mismatchedRanges.length} ranges; ` +
                `missing ${e.missingInService.slice(0, 10).join(",")}, extra ${e.extraInService.slice(0, 10).join(",")}, ` +
                `different ${e.different.slice(0, 10).join(",")}`
            )
            .join("\n")
      })
    }
    return { ...result, parallel, rangeSize, report }
  })

/** What a step's summary must say, else the run fails: wrong numbers are not a benchmark. */
const expect = (condition: boolean, message: string) =>
  condition ? Effect.void : Effect.fail(new Bench.BenchError({ message: `unexpected: ${message}` }))

const entity = (summary: BackfillSummary, name: string): EntitySummary | undefined =>
  summary.entities.find((e) => e.entity === name)

const totalRead = (summary: BackfillSummary) => summary.entities.reduce((n, e) => n + e.read, 0)

// ---------------------------------------------------------------------------------------------
// The run.

const main = Effect.gen(function* () {
  const config = yield* Bench.readOptions(optionNames, BenchConfig)
  const when = new Date().toISOString()
  const machine = { ...Bench.machineInfo(), memoryGb: Bench.round(totalmem() / 2 ** 30, 1) }
  const admin = yield* adminClient(config.serverUrl)
  const [version] = yield* query<{ readonly server_version: string }>(admin, "SHOW server_version")
  const settings: Record<string, string> = {}
  for (const name of settingNames) {
    const [row] = yield* query<Record<string, string>>(admin, `SHOW ${name}`)
    settings[name] = row?.[name] ?? "?"
  }
  const postgres = { version: version?.server_version ?? "?", server: new URL(config.serverUrl).host, settings }

  // Random names: two runs (or two databases of one run) never collide; both dropped when the scope closes.
  const suffix = randomBytes(4).toString("hex")
  const legacyUrl = yield* Bench.serverDatabase(config.serverUrl, `bench_legacy_${suffix}`)
  const serviceUrl = yield* Bench.serverDatabase(config.serverUrl, `bench_service_${suffix}`)
  const databases = [new URL(legacyUrl).pathname.slice(1), new URL(serviceUrl).pathname.slice(1)]
  yield* Console.log(`[bench] databases ${databases.join(", ")} on ${postgres.server} (PostgreSQL ${postgres.version})`)
  const run: Run = {
    admin,
    databases,
    env: { LEGACY_DATABASE_URL: legacyUrl, DATABASE_URL: serviceUrl }
  }

  // The service's schema, as the server applies it at start-up (the backfill expects it there).
  const migrateStarted = Bench.nowMs()
  yield* runMigrations.pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(serviceUrl), maxConnections: 1 })),
    Effect.scoped,
    Effect.mapError((error) => new Bench.BenchError({ message: `service migrations: ${String(error)}` }))
  )
  const migrateSeconds = Bench.round((Bench.nowMs() - migrateStarted) / 1000, 2)

  // Fixed costs: starting a tool (node, tsx compiling the sources, loading Effect) without doing anything.
  const startup = yield* runStep(run, "start-up only (backfill --help)", backfillScript, ["--help"])

  const seedStep = yield* runStep(run, "seed the legacy database", seedScript, [
    "--create-schema",
    "--json",
    "--users",
    String(config.users),
    "--templates",
    String(config.templates),
    "--logs",
    String(config.logs),
    "--seed",
    String(config.seed),
    "--until",
    config.until
  ])
  if (seedStep.exited.code !== 0) return yield* failed("seed", seedStep.exited)
  const seed: SeedSummary = yield* decodeJson(SeedSummary, "seed")(seedStep.exited.stdout)

  // Phase 0 of MIGRATION.md, after the history is in (as on the monolith): the change log, its triggers
  // and indexes; the backfill reads each row's position from the change log.
  const prepare = yield* runStep(run, "prepare the legacy database", prepareScript, [])
  if (prepare.exited.code !== 0) return yield* failed("prepare", prepare.exited)

  // A production table has been vacuumed and analysed; a freshly seeded one would make the first full
  // read set every row's hint bits (writing the whole table) and plan without statistics.
  const vacuumStarted = Bench.nowMs()
  yield* onDatabase(legacyUrl, "VACUUM (ANALYZE)")
  const vacuumSeconds = Bench.round((Bench.nowMs() - vacuumStarted) / 1000, 2)

  const batch = ["--batch-size", String(config.batchSize)]
  const first = yield* backfillStep(run, "backfill", batch)
  const logs = entity(first.summary, "notifications")
  yield* expect(logs?.read === seed.logs, `the backfill read ${logs?.read} logs of ${seed.logs}`)
  yield* expect(logs?.inserted === seed.logs, `the backfill inserted ${logs?.inserted} logs of ${seed.logs}`)
  for (const e of first.summary.entities) {
    yield* expect(e.rejected.length === 0, `${e.entity}: ${e.rejected.length} rows rejected (${e.rejected[0]?.reason})`)
  }

  const verifies = [yield* verifyStep(run, "verify (right after the backfill)", config.parallel, config.rangeSize)]
  if (config.compareParallel > 0) {
    verifies.push(yield* verifyStep(run, "verify again", config.compareParallel, config.rangeSize))
    verifies.push(yield* verifyStep(run, "verify again", config.parallel, config.rangeSize))
  }

  // Rerun as is: resumes after the checkpoints, so there is nothing left to read.
  const resumed = yield* backfillStep(run, "backfill rerun (resumes from its checkpoints)", batch)
  yield* expect(totalRead(resumed.summary) === 0, `the resumed rerun read ${totalRead(resumed.summary)} rows`)
  // Rerun from the start: every row read, mapped and compared again; nothing may change.
  const restarted = yield* backfillStep(run, "backfill rerun --restart (everything again)", [...batch, "--restart"])
  for (const e of restarted.summary.entities) {
    yield* expect(
      e.inserted === 0 && e.updated === 0 && e.rejected.length === 0,
      `the --restart rerun changed ${e.entity}: ${e.inserted} inserted, ${e.updated} updated, ${e.rejected.length} rejected`
    )
  }
  const afterRestart = yield* verifyStep(run, "verify after the --restart rerun", config.parallel, config.rangeSize)

  const sizes = yield* query<{ readonly datname: string; readonly bytes: string }>(
    admin,
    "SELECT datname, pg_database_size(datname)::text AS bytes FROM pg_database WHERE datname = ANY($1)",
    [databases]
  )
  const sizeMb = (name: string | undefined) =>
    Bench.round(Number(sizes.find((s) => s.datname === name)?.bytes ?? 0) / 2 ** 20, 0)
  const [serviceCounts] = yield* onDatabase<{ readonly notifications: number; readonly events: number }>(
    serviceUrl,
    `SELECT (SELECT count(*)::int FROM notifications) AS notifications,
       (SELECT count(*)::int FROM notification_events) AS events`
  )

  const results: Results = {
    when,
    machine,
    postgres,
    options: {
      logs: config.logs,
      users: config.users,
      templates: config.templates,
      seed: config.seed,
      until: config.until,
      batchSize: config.batchSize,
      parallel: config.parallel,
      compareParallel: config.compareParallel,
      rangeSize: config.rangeSize
    },
    data: {
      seed,
      legacyDatabaseMb: sizeMb(databases[0]),
      serviceDatabaseMb: sizeMb(databases[1]),
      serviceNotifications: serviceCounts?.notifications ?? 0,
      serviceNotificationEvents: serviceCounts?.events ?? 0
    },
    headline: {
      logsPerSecond: logs?.rowsPerSecond ?? 0,
      logsSeconds: Bench.round(logs?.seconds ?? 0, 2),
      totalRows: totalRead(first.summary),
      totalRowsPerSecondWall: Bench.round(totalRead(first.summary) / first.seconds, 0),
      backfillSeconds: first.seconds,
      verifySeconds: verifies[0]?.seconds ?? 0
    },
    migrateSeconds,
    vacuumSeconds,
    startup: startup.result,
    seedStep: seedStep.result,
    prepareStep: prepare.result,
    backfill: first,
    verifies: [...verifies, afterRestart],
    resumed,
    restarted
  }
  yield* report(results)
  if (config.write) yield* writeResults(results)
  else yield* Console.log("[bench] --write=false: docs/benchmarks/backfill.* left as they are")
})

// ---------------------------------------------------------------------------------------------
// Results: docs/benchmarks/backfill.md and backfill.json.

type BackfillStep = StepResult & { readonly summary: BackfillSummary }
type VerifyStep = StepResult & {
  readonly parallel: number
  readonly rangeSize: number
  readonly report: VerifyReport
}

interface Results {
  readonly when: string
  readonly machine: ReturnType<typeof Bench.machineInfo> & { readonly memoryGb: number }
  readonly postgres: { readonly version: string; readonly server: string; readonly settings: Record<string, string> }
  readonly options: Omit<BenchConfig, "write" | "serverUrl">
  readonly data: {
    readonly seed: SeedSummary
    readonly legacyDatabaseMb: number
    readonly serviceDatabaseMb: number
    readonly serviceNotifications: number
    readonly serviceNotificationEvents: number
  }
  readonly headline: {
    /** The backfill's own rate for the logs: rows ÷ (its first batch's start → its last batch's commit). */
    readonly logsPerSecond: number
    readonly logsSeconds: number
    /** Templates, preferences and logs read by the first backfill, ÷ its process's wall clock. */
    readonly totalRows: number
    readonly totalRowsPerSecondWall: number
    readonly backfillSeconds: number
    readonly verifySeconds: number
  }
  readonly migrateSeconds: number
  readonly vacuumSeconds: number
  readonly startup: StepResult
  readonly seedStep: StepResult
  readonly prepareStep: StepResult
  readonly backfill: BackfillStep
  readonly verifies: ReadonlyArray<VerifyStep>
  readonly resumed: BackfillStep
  readonly restarted: BackfillStep
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 })
const n = (value: number) => integer.format(value)

const sessionCells = (sessions: Record<string, number>) =>
  Object.entries(sessions)
    .slice(0, 3)
    .map(([what, count]) => `${count} ${what}`)
    .join("; ") || "–"

const cpuCell = (step: StepResult) =>
  `${step.processCpuPercent === null ? "–" : step.processCpuPercent} / ${step.machineCpuPercent}`

const report = (results: Results) =>
  Console.log(
    `\n[bench] logs: ${n(results.headline.logsPerSecond)} rows/s (${results.headline.logsSeconds} s); ` +
      `backfill ${results.backfill.seconds} s wall for ${n(results.headline.totalRows)} rows ` +
      `(${n(results.headline.totalRowsPerSecondWall)}/s); verify ${results.verifies.map((v) => `${v.seconds} s (--parallel ${v.parallel})`).join(", ")}; ` +
      `resumed rerun ${results.resumed.seconds} s, --restart rerun ${results.restarted.seconds} s`
  )

const writeResults = (results: Results) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const { when, machine, postgres, options, data, backfill, verifies, resumed, restarted, startup } = results
    const rowsCell = (summary: BackfillSummary) => n(totalRead(summary))
    const steps = Bench.markdownTable(
      ["Step", "Wall s", "Rows", "Rows/s (wall)", "CPU % tool (1 core) / machine", "DB sessions (average, non-idle)"],
      [
        ["Service schema migrations (in process)", String(results.migrateSeconds), "–", "–", "–", "–"],
        [
          "Tool start-up only (`legacy:backfill --help`)",
          String(startup.seconds),
          "–",
          "–",
          cpuCell(startup),
          sessionCells(startup.databaseSessions)
        ],
        [
          "Seed the legacy database (`legacy:seed`, every table)",
          String(results.seedStep.seconds),
          n(data.seed.rows),
          n(Bench.round(data.seed.rows / results.seedStep.seconds, 0)),
          cpuCell(results.seedStep),
          sessionCells(results.seedStep.databaseSessions)
        ],
        [
          "Prepare the legacy database (`legacy:prepare`: change log, triggers, indexes)",
          String(results.prepareStep.seconds),
          "–",
          "–",
          cpuCell(results.prepareStep),
          sessionCells(results.prepareStep.databaseSessions)
        ],
        ["`VACUUM (ANALYZE)` of the legacy database", String(results.vacuumSeconds), "–", "–", "–", "–"],
        [
          `**Backfill** (\`--batch-size ${options.batchSize}\`)`,
          `**${backfill.seconds}**`,
          rowsCell(backfill.summary),
          n(Bench.round(totalRead(backfill.summary) / backfill.seconds, 0)),
          cpuCell(backfill),
          sessionCells(backfill.databaseSessions)
        ],
        ...verifies.map((v) => [
          `${v.step === "verify (right after the backfill)" ? "**Verify**" : v.step.replace("verify", "Verify")} (\`--parallel ${v.parallel}\`): 0 mismatches`,
          v.step === "verify (right after the backfill)" ? `**${v.seconds}**` : String(v.seconds),
          n(v.report.entities.reduce((sum, e) => sum + e.legacyRows, 0)),
          n(Bench.round(v.report.entities.reduce((sum, e) => sum + e.legacyRows, 0) / v.seconds, 0)),
          cpuCell(v),
          sessionCells(v.databaseSessions)
        ]),
        [
          "Backfill rerun, resumed from its checkpoints",
          String(resumed.seconds),
          rowsCell(resumed.summary),
          "–",
          cpuCell(resumed),
          sessionCells(resumed.databaseSessions)
        ],
        [
          "Backfill rerun with `--restart`: all read again, 0 changed",
          String(restarted.seconds),
          rowsCell(restarted.summary),
          n(Bench.round(totalRead(restarted.summary) / restarted.seconds, 0)),
          cpuCell(restarted),
          sessionCells(restarted.databaseSessions)
        ]
      ]
    )
    const entityRows = (label: string, summary: BackfillSummary) =>
      summary.entities.map((e) => [
        label,
        e.entity,
        n(e.read),
        n(e.inserted),
        n(e.updated),
        n(e.unchanged),
        String(e.rejected.length),
        String(Bench.round(e.seconds, 2)),
        n(e.rowsPerSecond)
      ])
    const entities = Bench.markdownTable(
      [
        "Run",
        "Table",
        "Read",
        "Inserted",
        "Updated",
        "Unchanged",
        "Rejected",
        "Seconds (tool's timer)",
        "Rows/s (tool's timer)"
      ],
      [...entityRows("backfill", backfill.summary), ...entityRows("--restart rerun", restarted.summary)]
    )
    const settingsTable = Bench.markdownTable(
      ["Setting", "Value"],
      Object.entries(postgres.settings).map(([name, value]) => [name, value])
    )
    const logs = entity(backfill.summary, "notifications")
    const restartLogs = entity(restarted.summary, "notifications")
    const firstVerify = verifies[0]
    yield* fs.writeFileString(`${root}/docs/benchmarks/backfill.json`, `${JSON.stringify(results, null, 2)}\n`)
    yield* fs.writeFileString(
      `${root}/docs/benchmarks/backfill.md`,
      `# Backfill benchmark

\`npm run bench:backfill\` (bench/backfill.ts) measures the migration tools of MIGRATION.md at volume: copying
${n(options.logs)} of the monolith's notification logs (with ${n(data.seed.templates)} templates and
${n(data.seed.preferences)} preference rows) into the service with \`legacy:backfill\`, and checking the copy
with \`legacy:verify\`.

On the PostgreSQL server of \`DATABASE_URL\` it creates two fresh databases with random names: a legacy one,
filled by \`legacy:seed --create-schema\` (${n(data.seed.users)} users, seed ${options.seed}, history until
${options.until}: the same rows every run), then prepared with \`legacy:prepare\` (phase 0: the change log, its
triggers and indexes) and \`VACUUM (ANALYZE)\`d as a production table would be; and a service one with the
service's migrations applied. Each tool then runs as a child process from the sources,
exactly as \`npm run legacy:*\` runs it (\`node --import tsx --conditions=source …\`, \`--json\`), with
\`LEGACY_DATABASE_URL\` and \`DATABASE_URL\` naming the two databases:

1. \`legacy:backfill --batch-size ${options.batchSize}\`: templates, then preferences, then logs, in keyset batches by
   legacy id; each batch is one service transaction (upsert by \`legacy_id\`, a \`notification.imported\` event per
   log, the per-user counters, the checkpoint). It must read and insert every log and reject none.
2. \`legacy:verify --range-size ${options.rangeSize}\`: counts and md5 checksums per range of ${n(options.rangeSize)} legacy
   ids, computed by each database over the mapped rows, \`--parallel\` ranges at once on each side. It must
   find 0 mismatches (the run fails otherwise). It runs right after the backfill, then again with
   \`--parallel ${options.compareParallel}\` and \`--parallel ${options.parallel}\` with a warm cache, and once more after the last rerun.
3. The backfill again as it is: it resumes after its checkpoints, so it reads nothing — the cost of a
   rerun once a backfill has finished.
4. The backfill with \`--restart\`: every row read, mapped and compared again; 0 inserted and 0 updated
   (the run fails otherwise) — the cost of repeating the whole copy.

Both databases are dropped at the end, also when a step fails or the run is interrupted.

- **Wall s**: the tool's process from spawn to exit, start-up included (node, tsx compiling the sources:
  see the start-up row). **Rows/s (wall)**: rows the tool read (verify: legacy rows compared) ÷ wall s.
- **Tool's timer**: the backfill's own \`seconds\` per table, from its first batch to its last commit;
  **logs/s** is the \`notifications\` row of the first backfill.
- **CPU %**: the tool's process (user + system, from /proc) in % of one core — one Node event loop, so
  near 100 means the tool itself is the limit — and the busy share of all cores (the tool, PostgreSQL's
  backends and anything else on the machine).
- **DB sessions**: \`pg_stat_activity\` of the two databases sampled every 250 ms, the average number of
  sessions in each non-idle state; "idle in transaction (Client:ClientRead)" is PostgreSQL waiting for the tool.

Run it:

\`\`\`sh
npm run bench:backfill                                     # postgres://postgres@127.0.0.1:5432/postgres
DATABASE_URL=postgres://user@host:5432/postgres npm run bench:backfill
npm run bench:backfill -- --logs=20000 --users=2000 --write=false   # a quick run, results not written
\`\`\`

Options (or the \`BENCH_*\` variable of the same name): \`--logs\` (${n(1_000_000)}), \`--users\` (${n(100_000)}),
\`--templates\` (50), \`--seed\` (1), \`--until\` (2026-11-01), \`--batch-size\` (the backfill's, 5000),
\`--parallel\` (verify's, 4), \`--compare-parallel\` (1; 0 skips the warm verify runs), \`--range-size\`
(10000), \`--write\` (true: rewrite this file and backfill.json).

Run ${when} on ${machine.cpus} × ${machine.cpuModel} (${machine.memoryGb} GB), Node ${machine.node},
PostgreSQL ${postgres.version} on ${postgres.server}, load average (1 min) ${backfill.loadAverage1mBefore} before the backfill.

**Logs: ${n(logs?.rowsPerSecond ?? 0)} rows/s** (${n(logs?.read ?? 0)} in ${Bench.round(logs?.seconds ?? 0, 1)} s by the backfill's timer).
**Backfill: ${backfill.seconds} s** wall for ${n(totalRead(backfill.summary))} rows (${n(Bench.round(totalRead(backfill.summary) / backfill.seconds, 0))}/s).
**Verify: ${firstVerify?.seconds ?? "–"} s** (\`--parallel ${firstVerify?.parallel ?? "–"}\`), 0 mismatches.
Rerun: ${resumed.seconds} s resumed, ${restarted.seconds} s with \`--restart\` (logs ${n(restartLogs?.rowsPerSecond ?? 0)} rows/s, all unchanged).

${steps}

${entities}

Legacy database ${n(data.legacyDatabaseMb)} MB, service database ${n(data.serviceDatabaseMb)} MB after the runs
(${n(data.serviceNotifications)} notifications, ${n(data.serviceNotificationEvents)} events).

Server settings:

${settingsTable}

${FINDINGS}
`
    )
    yield* Console.log("[bench] wrote docs/benchmarks/backfill.md and backfill.json")
  })

const FINDINGS = `Findings (2026-11-23, two full runs on the shared 2-core machine; other people's tests kept its load average at
3.2–5.8 throughout, and the machine was 80–100% busy in every step: these are numbers for a CPU-starved machine,
expect better on a quiet one):

- **Logs copy at 5,300–5,500 rows/s: a million in 3 min 13 s–3 min 22 s wall.** The service database is the
  limit, not the tool: the backfill process used a fifth to a quarter of one core, while a service session was
  executing about 60% of the time (no wait event: CPU) and the legacy reads 4–6%. Each batch of 5000 is one
  statement that inserts the notifications, a \`notification.imported\` event per row (the whole row as JSON) and
  the per-user counters, then the checkpoint and the commit.
- **The service database ends up about 7× the legacy one** (about 1,560 MB for 1M notifications and their 1M
  events, against 229 MB): the event store keeps a copy of every imported row. Plan disk, WAL, backups and
  replicas for it.
- **Verify takes 16–21 s with \`--parallel 4\` and 24–26 s with \`--parallel 1\`** for 1.05M rows (1.2–1.5× on these
  2 cores), cold or warm alike: the machine's load moved it more than the cache did. The work is the two
  databases' (md5 of every mapped row); the tool itself used a quarter to under half a core.
- **Rerunning a finished backfill costs 7–9 s, of which about 6 s is start-up**: any of these tools spends
  ~6 s starting from the sources (node, tsx compiling TypeScript, loading Effect) before its first query. The
  rest is connecting and counting what is left past the checkpoint in each legacy table.
- **\`--restart\` (everything read again, nothing changed) takes 76–85 s, about 40% of the first copy**: rows are
  still read, mapped, decoded and sent in batches, but the upsert finds nothing different and writes only the
  checkpoints (13,600–14,600 logs/s).
- This server runs with \`autovacuum = off\` (settings above), so nothing analyses the service's tables after
  the backfill. Verify did not suffer from it here; in production keep autovacuum on, or \`ANALYZE\` after a
  backfill.`

Bench.runBench(main)
