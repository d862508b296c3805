import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process"
import { once } from "node:events"
import { afterAll, describe, expect } from "@effect/vitest"
import { LegacyMapping } from "@notification-service/core"
import * as Effect from "effect/Effect"
import { inject } from "vitest"
import { repositoryRoot, runScript } from "./support/cli.js"
import { privateDatabase, queryUrl } from "./support/database.js"
import { apiKeysConfig, migrate, TestServerInfo, testServer, withServerLayer } from "./support/server.js"

/**
 * The migration rehearsed end to end (MIGRATION.md, phases 0 to 4 and the rollback): the real
 * Django monolith writing through its ORM, the bridge, the backfill killed and resumed, verify,
 * shadow-compare, the switch of writes to the service with the reverse sync on, and the switch back.
 */

const django = (() => {
  try {
    execFileSync("/usr/bin/python3", ["-c", "import django, psycopg2, requests"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

const shared = inject("databaseUrl")
const service = django ? await privateDatabase(shared, migrate) : undefined
// The monolith's database: its tables only; phase 0 is part of the rehearsal.
const legacy = django ? await privateDatabase(shared, async () => {}) : undefined
afterAll(async () => {
  await service?.stop()
  await legacy?.stop()
})

const bridgeKey = "test-bridge-key-0123456789"
const monolithKey = "test-monolith-key-0123456789"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const until = async (
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
  explain: () => Promise<string> = async () => ""
) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} ${await explain()}`)
    await sleep(200)
  }
}

/** A long-running project script (the bridge, the backfill) from the sources, its output collected. */
const start = (script: string, args: ReadonlyArray<string>, env: Record<string, string>) => {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", script, ...args], {
    cwd: repositoryRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const output = { text: "" }
  child.stdout?.on("data", (chunk: Buffer) => {
    output.text += chunk.toString("utf8")
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    output.text += chunk.toString("utf8")
  })
  return { child, output }
}

const stop = async (child: ChildProcess, signal: NodeJS.Signals = "SIGTERM") => {
  if (child.exitCode !== null) return child.exitCode
  child.kill(signal)
  const [code] = (await once(child, "exit")) as [number | null]
  return code
}

/** The monolith's `manage.py`, with its settings from the environment. */
const manage = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  new Promise<{ readonly code: number; readonly output: string }>((resolve) =>
    execFile(
      "/usr/bin/python3",
      ["legacy/monolith/manage.py", ...args],
      { cwd: repositoryRoot, env: { ...process.env, ...env }, timeout: 240_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: `${stdout}${stderr}` })
    )
  )

if (service === undefined || legacy === undefined) {
  const reason = django ? "private databases need PostgreSQL" : "no Django on /usr/bin/python3"
  if (process.env.CI_REQUIRE_DJANGO === "1") throw new Error(`the migration rehearsal cannot run: ${reason}`)
  describe.skip(`migration rehearsal (${reason})`, () => {})
} else {
  const server = testServer(
    {
      API_KEYS: [
        apiKeysConfig(),
        `bridge:${bridgeKey}:migration:write`,
        `monolith:${monolithKey}:notifications:write,notifications:read,preferences:read`
      ].join(";"),
      // A database of its own: the dispatcher sends what the monolith sends through the service.
      DISPATCHER_ENABLED: "true",
      DISPATCHER_POLL_INTERVAL: "200 millis"
    },
    { url: service.url }
  )
  const monolithEnv = { LEGACY_DATABASE_URL: legacy.url, LEGACY_TIME_ZONE: "Europe/London" }
  const pending = async () => {
    const positions = await queryUrl<{ name: string; txid: string; seq: string }>(
      service.url,
      "SELECT name, horizon AS txid, last_seq AS seq FROM legacy_bridge_state WHERE name LIKE 'forward:%'"
    )
    const at = (table: string) => positions.find((p) => p.name === `forward:${table}`) ?? { txid: "0", seq: "0" }
    let total = 0
    for (const entity of LegacyMapping.entities) {
      const table = LegacyMapping.tables[entity].legacy
      const position = at(entity)
      const [row] = await queryUrl<{ n: number }>(
        legacy.url,
        "SELECT count(*)::int AS n FROM notifications_legacy_changes WHERE table_name = $1 AND (txid, id) > ($2, $3)",
        [table, position.txid, position.seq]
      )
      total += row?.n ?? 0
    }
    return total
  }

  withServerLayer(server)("migration rehearsal", (it) => {
    it.effect(
      "dual write, backfill killed and resumed under live traffic, verify and shadow-compare clean, writes switched with reverse sync, rolled back",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* TestServerInfo
          const bridgeEnv = {
            DATABASE_URL: service.url,
            LEGACY_DATABASE_URL: legacy.url,
            NOTIFICATION_SERVICE_URL: baseUrl,
            NOTIFICATION_SERVICE_API_KEY: bridgeKey,
            BRIDGE_PORT: "0",
            BRIDGE_POLL_INTERVAL: "200 millis"
          }
          yield* Effect.promise(async () => {
            // The monolith as it is today: its schema and years of data.
            const seeded = await runScript(
              "packages/migrations/src/bin/legacy-seed.ts",
              ["--create-schema", "--users", "300", "--templates", "8", "--logs", "6000", "--seed", "5"],
              monolithEnv
            )
            expect(seeded.code, seeded.stderr).toBe(0)

            // Phase 0: change recording on; the service is deployed dark.
            const prepared = await runScript("packages/migrations/src/bin/legacy-prepare.ts", [], monolithEnv)
            expect(prepared.code, prepared.stderr).toBe(0)
            expect(prepared.stdout).toMatch(/3 triggers/)

            // Phase 1: the bridge, then the monolith's own traffic through its ORM.
            const bridge = start("packages/workers/src/bin/bridge.ts", [], bridgeEnv)
            const traffic = manage(
              [
                "generate_traffic",
                "--payments",
                "120",
                "--preference-changes",
                "60",
                "--template-edits",
                "10",
                "--sleep",
                "0.02",
                "--seed",
                "11"
              ],
              { ...monolithEnv, NOTIFICATIONS_BACKEND: "legacy" }
            )

            // Phase 2, meanwhile: the backfill, killed hard midway, then resumed from its checkpoint.
            const backfillEnv = { DATABASE_URL: service.url, LEGACY_DATABASE_URL: legacy.url }
            const first = start(
              "packages/migrations/src/bin/backfill.ts",
              ["--batch-size", "250", "--rows-per-second", "2500"],
              backfillEnv
            )
            await until("the backfill to get midway", async () => {
              const [checkpoint] = await queryUrl<{ last_legacy_id: number }>(
                service.url,
                "SELECT last_legacy_id FROM legacy_backfill_checkpoints WHERE entity = 'notifications'"
              )
              return (checkpoint?.last_legacy_id ?? 0) >= 1500
            })
            expect(await stop(first.child, "SIGKILL")).not.toBe(0)
            const resumed = await runScript("packages/migrations/src/bin/backfill.ts", ["--json"], backfillEnv)
            expect(resumed.code, resumed.stderr).toBe(0)
            const summary = JSON.parse(resumed.stdout) as {
              entities: ReadonlyArray<{ entity: string; resumedAfter: number }>
            }
            expect(summary.entities.find((e) => e.entity === "notifications")?.resumedAfter).toBeGreaterThanOrEqual(
              1500
            )

            const generated = await traffic
            expect(generated.code, generated.output).toBe(0)
            expect(generated.output).toMatch(/payments=120/)
            await until("the bridge to catch up", async () => (await pending()) === 0)
            expect(bridge.child.exitCode, bridge.output.text).toBeNull()

            // Go/no-go for reads: verify and shadow-compare find nothing.
            const verified = await runScript("packages/migrations/src/bin/verify.ts", ["--json"], backfillEnv)
            expect(verified.code, verified.stdout + verified.stderr).toBe(0)
            const compared = await runScript(
              "packages/migrations/src/bin/shadow-compare.ts",
              ["--sample", "60", "--seed", "3", "--json"],
              { ...monolithEnv, NOTIFICATION_SERVICE_URL: baseUrl, NOTIFICATION_SERVICE_API_KEY: monolithKey }
            )
            expect(compared.code, compared.stdout + compared.stderr).toBe(0)
            expect((JSON.parse(compared.stdout) as { mismatchRate: number }).mismatchRate).toBe(0)

            // Phase 4: notifications sync backwards now; templates and preferences still forwards.
            await stop(bridge.child)
            const forward = start("packages/workers/src/bin/bridge.ts", ["--only", "templates,preferences"], bridgeEnv)
            const reverse = start("packages/workers/src/bin/bridge.ts", ["--direction", "reverse"], bridgeEnv)
            await until("the reverse sync to start", async () => {
              const [row] = await queryUrl<{ direction: string }>(
                service.url,
                "SELECT direction FROM legacy_sync_directions WHERE entity = 'notifications'"
              )
              return row?.direction === "reverse"
            })
            // Both directions for one table at once are refused.
            const clash = await runScript("packages/workers/src/bin/bridge.ts", ["--only", "notifications"], bridgeEnv)
            expect(clash.code).toBe(1)
            expect(clash.stderr).toMatch(/notifications: the reverse sync is running/)

            const [{ before } = { before: 0 }] = await queryUrl<{ before: number }>(
              legacy.url,
              "SELECT count(*)::int AS before FROM notifications_notificationlog"
            )
            const switched = await manage(["generate_traffic", "--payments", "25", "--seed", "12"], {
              ...monolithEnv,
              NOTIFICATIONS_BACKEND: "service",
              NOTIFICATION_SERVICE_URL: baseUrl,
              NOTIFICATION_SERVICE_API_KEY: monolithKey
            })
            expect(switched.code, switched.output).toBe(0)
            // Born in the service (not copied from the monolith): their first event is not an import.
            const sentByService = await queryUrl<{ id: string; user_id: string }>(
              service.url,
              `SELECT n.id, n.user_id FROM notifications n
               JOIN notification_events e ON e.aggregate_id = n.id AND e.version = 1
               WHERE e.type <> 'notification.imported'`
            )
            expect(sentByService.length).toBeGreaterThan(0)

            // Every notification sent after the switch reaches the monolith's log, in its final state.
            await until(
              "the reverse sync to write every notification back",
              async () => {
                const [row] = await queryUrl<{ missing: number }>(
                  service.url,
                  `SELECT count(*)::int AS missing FROM notifications
                 WHERE id = ANY($1::uuid[]) AND (legacy_id IS NULL OR status IN ('pending', 'sending'))`,
                  [sentByService.map((n) => n.id)]
                )
                return row?.missing === 0
              },
              60_000,
              async () =>
                JSON.stringify({
                  states: await queryUrl(
                    service.url,
                    `SELECT status, legacy_id IS NULL AS unlinked, count(*)::int FROM notifications
                   WHERE id = ANY($1::uuid[]) GROUP BY 1, 2`,
                    [sentByService.map((n) => n.id)]
                  ),
                  reverse: reverse.output.text.slice(-3000)
                })
            )
            await until("the reverse sync to be idle", async () => {
              const [row] = await queryUrl<{ n: number }>(
                service.url,
                `SELECT count(*)::int AS n FROM notification_events
                 WHERE txid > (SELECT horizon FROM legacy_bridge_state WHERE name = 'reverse:notifications')`
              )
              return row?.n === 0
            })
            const linked = await queryUrl<{ id: string; legacy_id: number; status: string }>(
              service.url,
              "SELECT id, legacy_id, status FROM notifications WHERE id = ANY($1::uuid[])",
              [sentByService.map((n) => n.id)]
            )
            const logs = await queryUrl<{ id: number; status: string; service_id: string }>(
              legacy.url,
              `SELECT id, status, metadata ->> 'notification_service_id' AS service_id FROM notifications_notificationlog
               WHERE id = ANY($1::int[])`,
              [linked.map((n) => n.legacy_id)]
            )
            expect(logs.length).toBe(sentByService.length)
            const legacyStatus: Record<string, string> = {
              sent: "sent",
              delivered: "sent",
              failed: "failed",
              suppressed: "failed",
              cancelled: "failed",
              bounced: "bounced"
            }
            for (const notification of linked) {
              const log = logs.find((l) => l.id === notification.legacy_id)
              expect(log?.service_id).toBe(notification.id)
              expect(log?.status).toBe(legacyStatus[notification.status])
            }
            const [{ after } = { after: 0 }] = await queryUrl<{ after: number }>(
              legacy.url,
              "SELECT count(*)::int AS after FROM notifications_notificationlog"
            )
            expect(after - before).toBe(sentByService.length)
            // Written with the service's origin: the monolith's change log does not echo them back.
            const [echo] = await queryUrl<{ n: number }>(
              legacy.url,
              "SELECT count(*)::int AS n FROM notifications_legacy_changes WHERE row_data -> 'metadata' ? 'notification_service_id'"
            )
            expect(echo?.n).toBe(0)

            // Rollback: the syncs stop, the monolith is flipped back and reads what the service sent.
            expect(await stop(reverse.child)).toBe(0)
            await stop(forward.child)
            const user = Number(sentByService[0]?.user_id)
            const history = await manage(["notification_history", "--user", String(user), "--limit", "500"], {
              ...monolithEnv,
              NOTIFICATIONS_BACKEND: "legacy",
              NOTIFICATIONS_READS: "legacy"
            })
            expect(history.code, history.output).toBe(0)
            const read = JSON.parse(history.output) as ReadonlyArray<{ id: number; status: string }>
            const mine = linked.filter((n) => sentByService.find((s) => s.id === n.id)?.user_id === String(user))
            for (const notification of mine) {
              expect(read.find((entry) => entry.id === notification.legacy_id)?.status).toBe(
                legacyStatus[notification.status]
              )
            }
          })
        }),
      600_000
    )
  })
}
