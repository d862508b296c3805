import { readFileSync } from "node:fs"
import { PgClient } from "@effect/sql-pg"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { inject } from "vitest"
import { batchSeed, LegacySeed, type SeedProgress, templateRows } from "../packages/migrations/src/legacy/Seed.js"
import { runScript } from "./support/cli.js"
import { freshDatabase } from "./support/database.js"

const schemaFile = new URL("../packages/migrations/legacy/schema.sql", import.meta.url)
const sharedUrl = inject("databaseUrl")
// The seeder gets databases of its own (it refuses tables that hold rows): PGlite has one only.
const onPostgres = sharedUrl.startsWith("postgres://") && !sharedUrl.includes("?host=")

/** `npm run legacy:seed` as a child process. */
const runSeed = (args: ReadonlyArray<string>, env: Record<string, string | undefined>) =>
  runScript("packages/migrations/src/bin/legacy-seed.ts", args, env)

const volumes = ["--users", "200", "--templates", "12", "--logs", "5000"]
// `until` is part of the data: fixed, so that runs on either side of midnight compare equal.
const seedArgs = (seed: number) => [
  "--create-schema",
  ...volumes,
  "--batch-size",
  "1500",
  "--seed",
  String(seed),
  "--until",
  "2026-11-23",
  "--json"
]

/** Every log, in id order, as one digest: equal digests, equal tables. */
const logsDigest = `SELECT md5(string_agg(l::text, E'\\n' ORDER BY l.id)) AS digest FROM notifications_notificationlog l`

describe("legacy seed, without a database", () => {
  it("lists templates with every kind of gap, their variables the body's placeholders", () => {
    const rows = templateRows(45)
    expect(new Set(rows.map((row) => row.name)).size).toBe(45)
    expect(rows.map((row) => row.id)).toEqual(Array.from({ length: 45 }, (_, index) => index + 1))
    expect(rows.slice(0, 12).some((row) => row.type === null)).toBe(true)
    expect(rows.slice(0, 12).some((row) => row.subject === null)).toBe(true)
    expect(rows.slice(0, 12).some((row) => row.variables === null)).toBe(true)
    expect(new Set(rows.map((row) => row.type))).toEqual(new Set(["email", "sms", "push", null]))
    for (const row of rows) {
      expect(row.updatedAgo, row.name).toBeLessThanOrEqual(row.createdAgo)
      if (row.variables !== null) {
        expect([...row.variables].sort()).toEqual(
          [...new Set(Array.from(row.body.matchAll(/\{(\w+)\}/g), (match) => match[1]))].sort()
        )
      }
    }
  })

  it("seeds each batch in [-1, 1), apart from its neighbours, for any safe integer", () => {
    const values = [1, 2, -1, 0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER].flatMap((seed) =>
      [1, 2].flatMap((stream) => [0, 1, 2].map((batch) => batchSeed(seed, stream, batch)))
    )
    for (const value of values) {
      expect(value).toBeGreaterThanOrEqual(-1)
      expect(value).toBeLessThan(1)
    }
    expect(new Set(values).size).toBe(values.length)
    expect(batchSeed(7, 2, 3)).toBe(batchSeed(7, 2, 3))
  })
})

if (!onPostgres) {
  describe.skip("legacy:seed (needs databases of its own on PostgreSQL; PGlite has one database)", () => {})
} else {
  describe("legacy:seed", () => {
    const databases: Array<{ readonly url: string; readonly stop: () => Promise<void> }> = []
    const database = async () => {
      const created = await freshDatabase(sharedUrl)
      databases.push(created)
      return created.url
    }
    let url = ""
    let client: pg.Client
    let run: Awaited<ReturnType<typeof runSeed>>

    beforeAll(async () => {
      url = await database()
      run = await runSeed(seedArgs(7), { LEGACY_DATABASE_URL: url })
      client = new pg.Client({ connectionString: url })
      await client.connect()
    }, 60_000)

    afterAll(async () => {
      await client?.end()
      await Promise.all(databases.map((created) => created.stop()))
    })

    const query = async <A extends object>(text: string): Promise<Array<A>> => (await client.query<A>(text)).rows
    const one = async <A extends object>(text: string): Promise<A> => {
      const [row] = await query<A>(text)
      if (row === undefined) throw new Error(`no row from ${text}`)
      return row
    }

    it("creates the schema, reports on stdout and draws its progress on stderr", () => {
      expect(run.code, run.stderr).toBe(0)
      const summary = JSON.parse(run.stdout) as Record<string, unknown>
      expect(summary).toMatchObject({ seed: 7, until: "2026-11-23", users: 200, templates: 12, logs: 5000 })
      expect(summary.schemaCreated).toBe(true)
      expect(run.stderr).toMatch(/seed logs \[#+\] 100% 5,000\/5,000 logs/)
    })

    it("inserts exactly the requested rows, profiles for most users and preferences for about half", async () => {
      const counts = await one<Record<string, number>>(`
        SELECT
          (SELECT count(*) FROM auth_user)::int AS users,
          (SELECT count(*) FROM identity_profile)::int AS profiles,
          (SELECT count(*) FROM notifications_userpreference)::int AS preferences,
          (SELECT count(*) FROM notifications_notificationtemplate)::int AS templates,
          (SELECT count(*) FROM notifications_notificationlog)::int AS logs`)
      expect(counts).toMatchObject({ users: 200, templates: 12, logs: 5000 })
      expect(counts.profiles).toBeGreaterThan(150)
      expect(counts.profiles).toBeLessThan(200)
      expect(counts.preferences).toBeGreaterThan(60)
      expect(counts.preferences).toBeLessThan(140)
      const summary = JSON.parse(run.stdout) as Record<string, unknown>
      expect(summary).toMatchObject({ profiles: counts.profiles, preferences: counts.preferences })
    })

    it("gives users unique names, a few empty emails, and profiles with E.164 phones or none", async () => {
      const users = await one<Record<string, number>>(`
        SELECT count(DISTINCT username)::int AS usernames, count(DISTINCT email) FILTER (WHERE email <> '')::int AS emails,
          count(*) FILTER (WHERE email <> '')::int AS with_email, count(*) FILTER (WHERE email = '')::int AS without_email
        FROM auth_user`)
      expect(users.usernames).toBe(200)
      expect(users.emails).toBe(users.with_email)
      expect(users.without_email).toBeGreaterThan(0)
      expect(users.without_email).toBeLessThan(20)
      const profiles = await one<Record<string, number>>(`
        SELECT count(*) FILTER (WHERE phone IS NULL)::int AS no_phone,
          count(*) FILTER (WHERE phone !~ '^\\+4477009[0-9]{5}$')::int AS bad_phones,
          count(*) FILTER (WHERE push_token IS NULL)::int AS no_push_token,
          count(*) FILTER (WHERE push_token IS NOT NULL)::int AS push_tokens
        FROM identity_profile`)
      expect(profiles.no_phone).toBeGreaterThan(0)
      expect(profiles.bad_phones).toBe(0)
      expect(profiles.no_push_token).toBeGreaterThan(0)
      expect(profiles.push_tokens).toBeGreaterThan(0)
    })

    it("writes every log status, and NULL where the schema allows it", async () => {
      const statuses = await query<{ status: string | null }>(
        "SELECT DISTINCT status FROM notifications_notificationlog ORDER BY status"
      )
      expect(statuses.map((row) => row.status)).toEqual(["bounced", "failed", "pending", "sent", null])
      const nulls = await one<Record<string, number>>(`
        SELECT count(*) FILTER (WHERE template_id IS NULL)::int AS template_id,
          count(*) FILTER (WHERE type IS NULL)::int AS type,
          count(*) FILTER (WHERE sent_at IS NULL)::int AS sent_at,
          count(*) FILTER (WHERE error_message IS NULL)::int AS error_message,
          count(*) FILTER (WHERE metadata IS NULL)::int AS metadata
        FROM notifications_notificationlog`)
      for (const [column, count] of Object.entries(nulls)) {
        expect(count, column).toBeGreaterThan(0)
        expect(count, column).toBeLessThan(5000)
      }
      const templates = await one<{
        subject: number
        type: number
        variables: number
        types: number
        names: number
        email_subjects: number
        emails: number
      }>(`
        SELECT count(*) FILTER (WHERE subject IS NULL)::int AS subject,
          count(*) FILTER (WHERE type IS NULL)::int AS type,
          count(*) FILTER (WHERE variables IS NULL)::int AS variables,
          count(DISTINCT type)::int AS types,
          count(DISTINCT name)::int AS names,
          count(*) FILTER (WHERE type = 'email' AND subject IS NOT NULL)::int AS email_subjects,
          count(*) FILTER (WHERE type = 'email')::int AS emails
        FROM notifications_notificationtemplate`)
      expect(templates).toMatchObject({ types: 3, names: 12 })
      expect(templates.subject).toBeGreaterThan(0)
      expect(templates.type).toBeGreaterThan(0)
      expect(templates.variables).toBeGreaterThan(0)
      expect(templates.email_subjects).toBeGreaterThan(templates.emails / 2)
      const quiet = await one<{
        neither: number
        both: number
        across_midnight: number
        total: number
        disabled: number
      }>(`
        SELECT count(*) FILTER (WHERE quiet_hours_start IS NULL AND quiet_hours_end IS NULL)::int AS neither,
          count(*) FILTER (WHERE quiet_hours_start IS NOT NULL AND quiet_hours_end IS NOT NULL)::int AS both,
          count(*) FILTER (WHERE quiet_hours_start > quiet_hours_end)::int AS across_midnight,
          count(*)::int AS total,
          count(*) FILTER (WHERE NOT email_enabled OR NOT sms_enabled OR NOT push_enabled)::int AS disabled
        FROM notifications_userpreference`)
      expect(quiet.neither).toBeGreaterThan(0)
      expect(quiet.both).toBeGreaterThan(0)
      expect(quiet.neither + quiet.both).toBe(quiet.total)
      expect(quiet.across_midnight).toBeGreaterThan(0)
      expect(quiet.disabled).toBeGreaterThan(0)
    })

    it("writes bodies with {key} placeholders that match their variables, and metadata to render them", async () => {
      const templates = await query<{ name: string; body: string; variables: Array<string> | null }>(
        "SELECT name, body, variables FROM notifications_notificationtemplate ORDER BY id"
      )
      for (const template of templates) {
        const keys = [...new Set(Array.from(template.body.matchAll(/\{(\w+)\}/g), (match) => match[1]))]
        expect(keys.length, template.name).toBeGreaterThan(0)
        if (template.variables !== null) expect([...template.variables].sort(), template.name).toEqual(keys.sort())
      }
      // Where the log has its template and a context, the context fills every placeholder.
      const unrendered = await one<{ count: number }>(`
        SELECT count(*)::int AS count
        FROM notifications_notificationlog l JOIN notifications_notificationtemplate t ON t.id = l.template_id
        CROSS JOIN LATERAL regexp_matches(t.body, '\\{(\\w+)\\}', 'g') AS m
        WHERE l.metadata IS NOT NULL AND NOT l.metadata ? m[1]`)
      expect(unrendered.count).toBe(0)
      const amounts = await one<{ count: number; bad: number }>(`
        SELECT count(*)::int AS count, count(*) FILTER (WHERE metadata ->> 'amount' !~ '^[0-9]+\\.[0-9]{2}$')::int AS bad
        FROM notifications_notificationlog WHERE metadata ? 'amount'`)
      expect(amounts.count).toBeGreaterThan(0)
      expect(amounts.bad).toBe(0)
    })

    it("skews the volume per user: the busiest tenth hold well over a tenth of the logs", async () => {
      const { share } = await one<{ share: number }>(`
        WITH per_user AS (SELECT count(*) AS n FROM notifications_notificationlog GROUP BY user_id),
        ranked AS (SELECT n, row_number() OVER (ORDER BY n DESC) AS rank FROM per_user)
        SELECT (sum(n) FILTER (WHERE rank <= 20) / sum(n))::float8 AS share FROM ranked`)
      expect(share).toBeGreaterThan(0.3)
      const orphans = await one<{ count: number }>(`
        SELECT count(*)::int AS count FROM notifications_notificationlog l
        LEFT JOIN auth_user u ON u.id = l.user_id WHERE u.id IS NULL`)
      expect(orphans.count).toBe(0)
    })

    it("dates sent and bounced logs, never pending ones; errors for failed and bounced only", async () => {
      const rows = await query<{ status: string | null; dated: number; undated: number; errors: number }>(`
        SELECT status, count(sent_at)::int AS dated, count(*) FILTER (WHERE sent_at IS NULL)::int AS undated,
          count(error_message)::int AS errors
        FROM notifications_notificationlog GROUP BY status`)
      const by = new Map(rows.map((row) => [row.status, row]))
      expect(by.get("sent")).toMatchObject({ undated: 0, errors: 0 })
      expect(by.get("bounced")?.undated).toBe(0)
      expect(by.get("pending")).toMatchObject({ dated: 0, errors: 0 })
      // Failures happened at an attempt, or before any.
      const failed = by.get("failed")
      expect(failed?.dated).toBeGreaterThan(0)
      expect(failed?.undated).toBeGreaterThan(0)
      expect(failed?.errors).toBe((failed?.dated ?? 0) + (failed?.undated ?? 0))
      expect(by.get("bounced")?.errors).toBe(by.get("bounced")?.dated)
      // Naive timestamps over the two years before --until, none before the user signed up.
      const span = await one<{ early: number; late: number; before_joining: number }>(`
        SELECT count(*) FILTER (WHERE sent_at < '2024-11-01')::int AS early,
          count(*) FILTER (WHERE sent_at >= '2026-11-23')::int AS late,
          count(*) FILTER (WHERE sent_at < u.date_joined AT TIME ZONE 'UTC')::int AS before_joining
        FROM notifications_notificationlog l JOIN auth_user u ON u.id = l.user_id`)
      expect(span).toEqual({ early: 0, late: 0, before_joining: 0 })
    })

    it("moves the id sequences past the seeded ids", async () => {
      const tables = [
        "auth_user",
        "identity_profile",
        "notifications_userpreference",
        "notifications_notificationtemplate",
        "notifications_notificationlog"
      ]
      for (const table of tables) {
        const { last, max } = await one<{ last: number; max: number }>(
          `SELECT (SELECT last_value FROM ${table}_id_seq)::int AS last, (SELECT max(id) FROM ${table}) AS max`
        )
        expect(last, table).toBe(max)
      }
    })

    it("refuses a database whose tables hold rows", async () => {
      const again = await runSeed([...volumes], { LEGACY_DATABASE_URL: url })
      expect(again.code).toBe(1)
      expect(again.stderr).toMatch(/already hold rows/)
    })

    it("gives the same data for the same seed, and other data for another", async () => {
      const [same, other] = await Promise.all([database(), database()])
      // The same seed through the command line again; another one through the service, in this process.
      const progress: Array<SeedProgress> = []
      const seedInProcess = Effect.gen(function* () {
        const seeder = yield* LegacySeed
        yield* seeder.createSchema(readFileSync(schemaFile, "utf8"))
        return yield* seeder.seed(
          { users: 200, templates: 12, logs: 5000, batchSize: 1500, seed: 8, until: "2026-11-23" },
          (event) => Effect.sync(() => progress.push(event))
        )
      }).pipe(
        Effect.provide(
          LegacySeed.Default.pipe(Layer.provide(PgClient.layer({ url: Redacted.make(other), maxConnections: 1 })))
        )
      )
      const [sameRun, otherSummary] = await Promise.all([
        runSeed(seedArgs(7), { LEGACY_DATABASE_URL: same }),
        Effect.runPromise(seedInProcess)
      ])
      expect(sameRun.code, sameRun.stderr).toBe(0)
      expect(otherSummary).toMatchObject({ seed: 8, users: 200, templates: 12, logs: 5000 })
      expect(progress.filter((event) => event.phase === "logs").map((event) => event.done)).toEqual([
        0, 1500, 3000, 4500, 5000
      ])
      expect(progress.filter((event) => event.phase === "users").at(-1)).toEqual({
        phase: "users",
        done: 200,
        total: 200
      })
      const digest = async (databaseUrl: string, text: string) => {
        const connection = new pg.Client({ connectionString: databaseUrl })
        await connection.connect()
        try {
          const [row] = (await connection.query<{ digest: string }>(text)).rows
          return row?.digest
        } finally {
          await connection.end()
        }
      }
      const expected = await one<{ digest: string }>(logsDigest)
      expect(await digest(same, logsDigest)).toBe(expected.digest)
      expect(await digest(other, logsDigest)).not.toBe(expected.digest)
      const everything = `SELECT md5(
        (SELECT string_agg(u::text, ',' ORDER BY id) FROM auth_user u) ||
        (SELECT string_agg(p::text, ',' ORDER BY id) FROM identity_profile p) ||
        (SELECT string_agg(p::text, ',' ORDER BY id) FROM notifications_userpreference p) ||
        (SELECT string_agg(t::text, ',' ORDER BY id) FROM notifications_notificationtemplate t)) AS digest`
      expect(await digest(same, everything)).toBe((await one<{ digest: string }>(everything)).digest)
    }, 60_000)

    it("rejects bad arguments and a missing LEGACY_DATABASE_URL with exit code 2", async () => {
      const runs = await Promise.all([
        runSeed(["--users", "many"], { LEGACY_DATABASE_URL: url }),
        runSeed(["--bogus"], { LEGACY_DATABASE_URL: url }),
        runSeed(["--users", "0", "--logs", "10"], { LEGACY_DATABASE_URL: url }),
        runSeed(["--until", "2026-02-30"], { LEGACY_DATABASE_URL: url }),
        runSeed([...volumes], { LEGACY_DATABASE_URL: undefined })
      ])
      for (const bad of runs) {
        expect(bad.code, bad.stderr).toBe(2)
        expect(bad.stderr).toMatch(/npm run legacy:seed -- \[options\]/)
        expect(bad.stdout).toBe("")
      }
      expect(runs[0]?.stderr).toMatch(/--users must be a non-negative integer/)
      expect(runs[4]?.stderr).toMatch(/LEGACY_DATABASE_URL is not set/)
      const help = await runSeed(["--help"], { LEGACY_DATABASE_URL: undefined })
      expect(help.code).toBe(0)
      expect(help.stdout).toMatch(/--batch-size N/)
    }, 90_000)
  })
}
