import { afterAll, describe, expect } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { inject } from "vitest"
import { runScript } from "./support/cli.js"
import { applyLegacySql, privateDatabase, queryUrl, withClient } from "./support/database.js"
import {
  apiKeysConfig,
  json,
  keys,
  migrate,
  raw,
  TestServerInfo,
  testServer,
  withServerLayer
} from "./support/server.js"

// The backfill and the comparison take every row they find: databases of their own.
const shared = inject("databaseUrl")
const service = await privateDatabase(shared, migrate)
// The monolith's tables, with phase 0's change recording on (the mapping reads each row's position from it).
const legacy = await privateDatabase(shared, (url) => applyLegacySql(url, ["schema.sql", "outbox.sql"]))
afterAll(async () => {
  await service?.stop()
  await legacy?.stop()
})

/** The least the comparison needs: the monolith's reads. */
const shadowKey = "test-shadow-key-0123456789"

/** User 1 has more logs than one page of the API; user 6 has preferences only. */
const userOneLogs = 130

/** Microsecond times (compared to the millisecond), NULL types and statuses, odd metadata, half-set quiet hours. */
const seedLegacy = (url: string) =>
  withClient(url, async (client) => {
    await client.query(`
      INSERT INTO notifications_notificationtemplate (name, subject, body, type, variables) VALUES
        ('welcome', 'Hi {name}', 'Hello {name}', 'email', '["name"]'),
        ('otp', NULL, 'Code {code}', 'sms', '{"code": "x"}'),
        ('untyped', NULL, 'Hello', NULL, NULL)`)
    await client.query(`
      INSERT INTO notifications_notificationlog (user_id, template_id, type, status, sent_at, error_message, metadata)
      SELECT CASE WHEN i <= ${userOneLogs} THEN 1 ELSE 2 + i % 4 END, 1 + i % 3,
        CASE WHEN i % 5 = 0 THEN NULL ELSE (ARRAY['email','sms','push'])[1 + i % 3] END,
        (ARRAY['pending','sent','failed','bounced',NULL])[1 + i % 5],
        CASE WHEN i % 5 IN (1, 3) THEN timestamp '2025-03-30 00:00:00' + i * interval '17 minutes 3.000123 seconds' END,
        CASE WHEN i % 5 IN (2, 3) THEN 'error ' || i END,
        CASE i % 4 WHEN 0 THEN NULL WHEN 1 THEN jsonb_build_object('amount', i, 'currency', 'GBP', 'a', jsonb_build_object('z', 1, 'b', 2))
          WHEN 2 THEN '[1, 2]'::jsonb ELSE '{}' END
      FROM generate_series(1, ${userOneLogs + 40}) AS i`)
    await client.query(`
      INSERT INTO notifications_userpreference (user_id, email_enabled, sms_enabled, push_enabled, quiet_hours_start, quiet_hours_end)
      VALUES (1, false, NULL, true, '22:00', '07:00'), (2, true, true, true, '22:00', NULL),
        (6, true, true, false, '23:30:00', '06:15:00')`)
  })

const legacyQuery = <Row>(text: string, values: ReadonlyArray<unknown> = []) =>
  queryUrl<Row>(legacy?.url ?? "", text, values)
const serviceQuery = <Row>(text: string, values: ReadonlyArray<unknown> = []) =>
  queryUrl<Row>(service?.url ?? "", text, values)

interface Report {
  readonly ok: boolean
  readonly seed: string | null
  readonly users: ReadonlyArray<number>
  readonly usersCompared: number
  readonly notificationsCompared: number
  readonly serviceOnlyNotifications: number
  readonly preferencesCompared: number
  readonly mismatchingUsers: number
  readonly mismatchRate: number
  readonly mismatches: number
  readonly mismatchCounts: Record<string, number>
  readonly examples: ReadonlyArray<Record<string, unknown>>
}

if (service === undefined || legacy === undefined) {
  describe.skip("legacy shadow-compare (needs private databases on PostgreSQL)", () => {})
} else {
  const server = testServer(
    { API_KEYS: `${apiKeysConfig()};shadow:${shadowKey}:notifications:read,preferences:read` },
    { url: service.url }
  )

  const run = (args: ReadonlyArray<string>, env: Record<string, string | undefined> = {}) =>
    Effect.gen(function* () {
      const { baseUrl } = yield* TestServerInfo
      return yield* Effect.promise(() =>
        runScript("packages/migrations/src/bin/shadow-compare.ts", args, {
          LEGACY_DATABASE_URL: legacy.url,
          NOTIFICATION_SERVICE_URL: `${baseUrl}/`,
          NOTIFICATION_SERVICE_API_KEY: shadowKey,
          ...env
        })
      )
    })
  const report = (args: ReadonlyArray<string>) =>
    Effect.map(run([...args, "--json"]), (result) => ({
      code: result.code,
      report: JSON.parse(result.stdout) as Report
    }))

  withServerLayer(server)("legacy shadow-compare", (it) => {
    it.effect(
      "backfilled users read the same both ways; a changed status, preference and an uncopied log are caught",
      () =>
        Effect.gen(function* () {
          yield* Effect.promise(() => seedLegacy(legacy.url))
          const backfill = yield* Effect.promise(() =>
            runScript("packages/migrations/src/bin/backfill.ts", ["--json"], {
              DATABASE_URL: service.url,
              LEGACY_DATABASE_URL: legacy.url
            })
          )
          expect(backfill.code).toBe(0)
          // A notification the service wrote itself (no legacy id): shown to the monolith, not compared.
          const sent = yield* raw(
            "/api/v1/notifications/send",
            json("POST", {
              user_id: 3,
              template_name: "welcome",
              variables: { name: "Ada" },
              recipient: { email: "ada@example.com" }
            })
          )
          expect(sent.status).toBe(202)

          const clean = yield* report([])
          expect(clean.code).toBe(0)
          expect(clean.report).toMatchObject({
            ok: true,
            usersCompared: 6,
            notificationsCompared: userOneLogs + 40,
            serviceOnlyNotifications: 1,
            preferencesCompared: 6,
            mismatchingUsers: 0,
            mismatchRate: 0,
            mismatches: 0,
            mismatchCounts: {},
            examples: []
          })
          expect([...clean.report.users].sort()).toEqual([1, 2, 3, 4, 5, 6])
          expect(clean.report.seed).toMatch(/^[0-9a-f]{8}$/)

          // The same seed picks the same sample.
          const [first, second] = yield* Effect.all(
            [report(["--sample", "3", "--seed", "s1"]), report(["--sample", "3", "--seed", "s1"])],
            {
              concurrency: 2
            }
          )
          expect(first.report.users).toHaveLength(3)
          expect(second.report.users).toEqual(first.report.users)
          expect(first.report.seed).toBe("s1")

          // Tampered: a status moved in the service to one the monolith shows differently...
          const [log] = yield* Effect.promise(() =>
            legacyQuery<{ id: number }>(
              "SELECT id FROM notifications_notificationlog WHERE user_id = 4 AND status = 'sent' ORDER BY id LIMIT 1"
            )
          )
          const legacyId = log?.id ?? 0
          const [copy] = yield* Effect.promise(() =>
            serviceQuery<{ id: string }>("SELECT id FROM notifications WHERE legacy_id = $1", [legacyId])
          )
          const serviceId = copy?.id ?? ""
          const moved = yield* raw(`/api/v1/notifications/${serviceId}/status`, json("PUT", { status: "bounced" }))
          expect(moved.status).toBe(200)
          // ...a preference changed in the monolith and never synced, and a log never copied.
          yield* Effect.promise(() =>
            legacyQuery("UPDATE notifications_userpreference SET sms_enabled = false WHERE user_id = 6")
          )
          const [added] = yield* Effect.promise(() =>
            legacyQuery<{ id: number }>(
              "INSERT INTO notifications_notificationlog (user_id, template_id, type, status) VALUES (5, 1, 'email', 'sent') RETURNING id"
            )
          )
          const addedId = added?.id ?? 0
          const [preference] = yield* Effect.promise(() =>
            legacyQuery<{ id: number }>("SELECT id FROM notifications_userpreference WHERE user_id = 6")
          )

          const tampered = yield* report(["--concurrency", "2"])
          expect(tampered.code).toBe(1)
          expect(tampered.report).toMatchObject({
            ok: false,
            usersCompared: 6,
            notificationsCompared: userOneLogs + 41,
            mismatchingUsers: 3,
            mismatchRate: 0.5,
            mismatches: 3,
            mismatchCounts: {
              "notification.missing_in_service": 1,
              "notification.status": 1,
              "preference.sms_enabled": 1
            }
          })
          expect(tampered.report.examples).toHaveLength(3)
          expect(tampered.report.examples).toEqual(
            expect.arrayContaining([
              expect.objectContaining({
                user: 4,
                entity: "notification",
                kind: "different",
                legacyId,
                serviceId,
                field: "status",
                legacy: "sent",
                service: "bounced"
              }),
              expect.objectContaining({
                user: 6,
                entity: "preference",
                kind: "different",
                legacyId: preference?.id,
                field: "sms_enabled",
                legacy: false,
                service: true
              }),
              expect.objectContaining({
                user: 5,
                entity: "notification",
                kind: "missing_in_service",
                legacyId: addedId,
                serviceId: null
              })
            ])
          )

          const human = yield* run(["--examples", "1"])
          expect(human.code).toBe(1)
          expect(human.stdout).toMatch(/mismatching users 3 \(50\.00%\), mismatches 3/)
          expect(human.stdout).toMatch(/notification\.status: 1/)
          expect(human.stdout.match(/^ {2}user /gm)).toHaveLength(1)
          expect(human.stdout).toMatch(/MISMATCH/)

          // An explicit list, duplicates dropped: only those users.
          const listed = yield* report(["--users", "5,2,5"])
          expect(listed.code).toBe(1)
          expect(listed.report).toMatchObject({
            seed: null,
            users: [5, 2],
            usersCompared: 2,
            mismatchingUsers: 1,
            mismatchRate: 0.5,
            mismatchCounts: { "notification.missing_in_service": 1 }
          })
          const fine = yield* run(["--users", "1,2,3"])
          expect(fine.code).toBe(0)
          expect(fine.stdout).toMatch(/OK: no mismatches/)
        }),
      240_000
    )

    it.effect(
      "bad arguments exit 2 with the usage; a key without the read scopes fails",
      () =>
        Effect.gen(function* () {
          const results = yield* Effect.all(
            [
              run(["--sample", "0"]),
              run(["--users", "1,x"]),
              run(["--users", "1", "--seed", "s"]),
              run(["--concurrency", "-1"]),
              // Arguments are checked before any setting is read.
              run(["--bogus"], { LEGACY_DATABASE_URL: undefined, NOTIFICATION_SERVICE_API_KEY: undefined })
            ],
            { concurrency: 5 }
          )
          for (const result of results) {
            expect(result.code).toBe(2)
            expect(result.stderr).toMatch(/npm run legacy:shadow-compare/)
          }
          expect(results[0]?.stderr).toMatch(/--sample must be a positive integer/)
          expect(results[2]?.stderr).toMatch(/--users is a list of its own/)
          const forbidden = yield* run(["--users", "1"], { NOTIFICATION_SERVICE_API_KEY: keys.writer })
          expect(forbidden.code).toBe(1)
          expect(`${forbidden.stdout}${forbidden.stderr}`).toMatch(/Forbidden/)
        }),
      180_000
    )
  })
}
