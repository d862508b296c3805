import { randomBytes } from "node:crypto"
import { parseArgs } from "node:util"
import { NodeHttpClient } from "@effect/platform-node"
import { LegacyMapping } from "@notification-service/core"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { parseCommandLine, positiveInteger, runCli, UsageError } from "../Cli.js"
import { type Mismatch, shadowCompare, type UserSelection } from "../legacy/ShadowCompare.js"

const usage = `npm run legacy:shadow-compare -- [options]

Reads a sample of users' notification history and preferences both ways, the monolith's (its
tables, mapped by the migration's rules) and the service's (its public API, as the monolith will
read it), and compares them: logs by legacy id (channel, status in the legacy set, sent_at to the
millisecond, error_message, metadata), preferences field by field. Exits 1 on any mismatch.

  --sample N       users picked among those with logs or preferences (default 200)
  --seed S         the sample's seed: the same seed on the same data picks the same users
                   (default: a random one, printed)
  --users 1,2,3    these users instead of a sample
  --concurrency N  users compared at once (default 8)
  --examples N     mismatches shown (default 10)
  --json           print the report as one JSON document
  --help           this text

LEGACY_DATABASE_URL is the monolith's database; NOTIFICATION_SERVICE_URL (default
http://127.0.0.1:3000) and NOTIFICATION_SERVICE_API_KEY (scopes notifications:read and
preferences:read) are the service, as the monolith's settings name them.`

/** `--users 1,2,3`: positive ids, duplicates dropped, in the order given. */
const userList = (value: string) =>
  Effect.forEach(value.split(","), (part) => positiveInteger("users", part.trim())).pipe(
    Effect.map((ids) => [...new Set(ids)])
  )

const selection = (options: { readonly sample?: string; readonly seed?: string; readonly users?: string }) =>
  Effect.gen(function* () {
    if (options.users !== undefined) {
      if (options.sample !== undefined || options.seed !== undefined)
        return yield* new UsageError({ message: "--users is a list of its own: no --sample or --seed with it" })
      return { _tag: "List", users: yield* userList(options.users) } satisfies UserSelection
    }
    return {
      _tag: "Sample",
      size: yield* positiveInteger("sample", options.sample ?? "200"),
      seed: options.seed ?? randomBytes(4).toString("hex")
    } satisfies UserSelection
  })

const show = (value: unknown): string => (value === undefined ? "-" : JSON.stringify(value))

const describe = (m: Mismatch): string =>
  `  user ${m.user} ${m.entity}` +
  (m.legacyId === null ? "" : ` legacy id ${m.legacyId}`) +
  (m.serviceId === null ? "" : ` (service ${m.serviceId})`) +
  (m.kind === "different" ? `: ${m.field} legacy ${show(m.legacy)}, service ${show(m.service)}` : `: ${m.kind}`)

const program = Effect.gen(function* () {
  const options = yield* parseCommandLine(
    (args) =>
      parseArgs({
        args,
        strict: true,
        options: {
          sample: { type: "string" },
          seed: { type: "string" },
          users: { type: "string" },
          concurrency: { type: "string", default: "8" },
          examples: { type: "string", default: "10" },
          json: { type: "boolean", default: false },
          help: { type: "boolean", default: false }
        }
      }).values
  )
  if (options.help) return yield* Console.log(usage)
  const report = yield* shadowCompare({
    users: yield* selection(options),
    concurrency: yield* positiveInteger("concurrency", options.concurrency),
    examples: yield* positiveInteger("examples", options.examples, { zero: true })
  }).pipe(
    // Provided here, after the arguments: --help and usage errors need no database or service settings.
    Effect.provide(Layer.merge(LegacyMapping.LegacySqlLive, NodeHttpClient.layerUndici))
  )
  if (options.json) yield* Console.log(JSON.stringify(report))
  else {
    yield* Console.log(
      `users ${report.usersCompared}${report.seed === null ? "" : ` (sample, seed ${report.seed})`}, ` +
        `notifications ${report.notificationsCompared}, preferences ${report.preferencesCompared}, ` +
        `service-only notifications ${report.serviceOnlyNotifications} (not compared)`
    )
    yield* Console.log(
      `mismatching users ${report.mismatchingUsers} (${(report.mismatchRate * 100).toFixed(2)}%), mismatches ${report.mismatches}`
    )
    for (const [key, count] of Object.entries(report.mismatchCounts)) yield* Console.log(`  ${key}: ${count}`)
    if (report.examples.length > 0) yield* Console.log(`examples:\n${report.examples.map(describe).join("\n")}`)
    yield* Console.log(`${report.ok ? "OK: no mismatches" : "MISMATCH"} (${report.seconds.toFixed(1)} s)`)
  }
  if (!report.ok) process.exitCode = 1
})

runCli(program, Layer.empty, usage)
