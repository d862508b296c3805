import { NodeHttpClient } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { afterAll, describe, expect } from "@effect/vitest"
import { EventStore, LegacyMapping } from "@notification-service/core"
import {
  BridgeConfig,
  bridgeClient,
  forwardLag,
  forwardStep,
  holdDirection,
  reverseStep
} from "@notification-service/workers"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import pg from "pg"
import { inject } from "vitest"
import { applyLegacySql, privateDatabase, queryUrl } from "./support/database.js"
import {
  apiKeysConfig,
  authorized,
  keys,
  migrate,
  raw,
  TestServerInfo,
  testServer,
  withServerLayer
} from "./support/server.js"

/**
 * The bridge's steps in process (the rehearsal runs them as `npm run bridge`): the transaction
 * horizon, deletions, the direction lock, and the reverse sync's crash safety.
 */

const shared = inject("databaseUrl")
const service = await privateDatabase(shared, migrate)
const legacy = await privateDatabase(shared, (url) => applyLegacySql(url, ["schema.sql", "outbox.sql"]))
afterAll(async () => {
  await service?.stop()
  await legacy?.stop()
})

const bridgeKey = "test-bridge-key-0123456789"

if (service === undefined || legacy === undefined) {
  describe.skip("monolith bridge (needs private databases on PostgreSQL)", () => {})
} else {
  const server = testServer(
    { API_KEYS: `${apiKeysConfig()};bridge:${bridgeKey}:migration:write` },
    { url: service.url }
  )
  const open = async () => {
    const client = new pg.Client({ connectionString: legacy.url })
    await client.connect()
    return client
  }
  const legacyQuery = <Row>(text: string, values: ReadonlyArray<unknown> = []) =>
    queryUrl<Row>(legacy.url, text, values)
  const serviceQuery = <Row>(text: string, values: ReadonlyArray<unknown> = []) =>
    queryUrl<Row>(service.url, text, values)

  /** What `npm run bridge` runs on, against the two private databases and the test server. */
  const provideBridge = (baseUrl: string) => {
    const config = ConfigProvider.fromMap(
      new Map([
        ["LEGACY_DATABASE_URL", legacy.url],
        ["LEGACY_TIME_ZONE", "Europe/London"],
        ["NOTIFICATION_SERVICE_URL", baseUrl],
        ["NOTIFICATION_SERVICE_API_KEY", bridgeKey],
        ["BRIDGE_BATCH_SIZE", "50"]
      ])
    )
    const layer = Layer.mergeAll(EventStore.Default, LegacyMapping.LegacySqlLive, NodeHttpClient.layerUndici).pipe(
      Layer.provideMerge(PgClient.layer({ url: Redacted.make(service.url), maxConnections: 4 })),
      Layer.provide(Layer.setConfigProvider(config))
    )
    return <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.provide(layer), Effect.withConfigProvider(config), Effect.scoped) as Effect.Effect<
        A,
        unknown,
        never
      >
  }

  withServerLayer(server)("monolith bridge", (it) => {
    it.effect(
      "applies changes below the transaction horizon only, current rows, deletions; one direction per table",
      () =>
        Effect.gen(function* () {
          const { baseUrl } = yield* TestServerInfo
          const run = provideBridge(baseUrl)
          // Every transaction on the server bounds the horizon (other tests' too): a change may
          // need a moment to become readable, so `expected` changes are awaited, then no more.
          const steps = (entity: LegacyMapping.Entity, expected = 0) =>
            run(
              Effect.gen(function* () {
                const config = yield* BridgeConfig
                const client = yield* bridgeClient(config)
                let taken = 0
                const deadline = Date.now() + 30_000
                for (;;) {
                  const n = yield* forwardStep(entity, client, config)
                  taken += n
                  if (n === 0 && (taken >= expected || Date.now() > deadline)) return taken
                  if (n === 0) yield* Effect.sleep("100 millis")
                }
              })
            )

          yield* Effect.promise(() =>
            legacyQuery(`
              INSERT INTO notifications_notificationtemplate (name, subject, body, type, variables)
              VALUES ('receipt', 'Paid', 'You paid {amount}', 'email', '["amount"]')`)
          )
          expect(yield* steps("templates", 1)).toBe(1)

          // A transaction that wrote first (smaller txid) but commits last holds the horizon back.
          const slow = yield* Effect.promise(open)
          yield* Effect.promise(() => slow.query("BEGIN"))
          yield* Effect.promise(() =>
            slow.query(
              "INSERT INTO notifications_notificationlog (user_id, template_id, type, status, metadata) VALUES (7, 1, 'email', 'pending', '{}')"
            )
          )
          yield* Effect.promise(() =>
            legacyQuery(
              "INSERT INTO notifications_notificationlog (user_id, template_id, type, status, sent_at, metadata) VALUES (8, 1, 'email', 'sent', '2025-06-01 10:00:00.123456', '{\"amount\": 5}')"
            )
          )
          expect(yield* steps("notifications")).toBe(0)
          // Pending: the committed change only (the other is not visible yet).
          expect(yield* run(forwardLag("notifications"))).toBe(1)
          yield* Effect.promise(() => slow.query("COMMIT"))
          yield* Effect.promise(() => slow.end())
          expect(yield* steps("notifications", 2)).toBe(2)
          const copied = yield* Effect.promise(() =>
            serviceQuery<{ legacy_id: number; status: string; sent_at: Date | null }>(
              "SELECT legacy_id, status, sent_at FROM notifications ORDER BY legacy_id"
            )
          )
          expect(copied.map((n) => [n.legacy_id, n.status])).toEqual([
            [1, "sending"],
            [2, "sent"]
          ])
          expect(copied[1]?.sent_at?.toISOString()).toBe("2025-06-01T09:00:00.123Z")

          // Two updates in one batch: the row as it is now is what lands.
          yield* Effect.promise(() =>
            legacyQuery(
              "UPDATE notifications_notificationlog SET status = 'failed', error_message = 'smtp 550' WHERE id = 1"
            )
          )
          yield* Effect.promise(() =>
            legacyQuery("UPDATE notifications_notificationlog SET status = 'sent', error_message = NULL WHERE id = 1")
          )
          expect(yield* steps("notifications", 2)).toBe(2)
          const [first] = yield* Effect.promise(() =>
            serviceQuery<{ status: string; error_message: string | null }>(
              "SELECT status, error_message FROM notifications WHERE legacy_id = 1"
            )
          )
          expect(first).toEqual({ status: "sent", error_message: null })

          // A preference deleted in the monolith: the user is back to the defaults.
          yield* Effect.promise(() =>
            legacyQuery("INSERT INTO notifications_userpreference (user_id, sms_enabled) VALUES (8, false)")
          )
          expect(yield* steps("preferences", 1)).toBe(1)
          yield* Effect.promise(() => legacyQuery("DELETE FROM notifications_userpreference WHERE user_id = 8"))
          expect(yield* steps("preferences", 1)).toBe(1)
          const preference = yield* raw("/api/v1/preferences/user/8", { headers: authorized(keys.admin) })
          expect(preference.body).toMatchObject({ sms_enabled: true, updated_at: null })

          // One direction per table: a second holder is refused while the first holds it.
          const clash = yield* run(
            Effect.gen(function* () {
              yield* holdDirection("forward", ["notifications"])
              return yield* Effect.exit(
                Effect.scoped(holdDirection("reverse", ["notifications"])).pipe(
                  Effect.provide(PgClient.layer({ url: Redacted.make(service.url), maxConnections: 1 }))
                )
              )
            })
          )
          expect(Exit.isFailure(clash)).toBe(true)
          expect(Exit.isFailure(clash) ? Cause.pretty(clash.cause) : "").toMatch(/forward sync is running/)
          // Released with its scope: now the reverse direction may start.
          const free = yield* run(Effect.exit(holdDirection("reverse", ["notifications"])))
          expect(Exit.isSuccess(free)).toBe(true)
        }),
      120_000
    )

    it.effect("the reverse sync writes service notifications back once, even when run again from the start", () =>
      Effect.gen(function* () {
        const { baseUrl } = yield* TestServerInfo
        const run = provideBridge(baseUrl)
        const sent = yield* raw("/api/v1/notifications/send", {
          method: "POST",
          headers: authorized(keys.admin, { "content-type": "application/json" }),
          body: JSON.stringify({
            user_id: 8,
            template_name: "receipt",
            variables: { amount: "12" },
            metadata: { k: "v" }
          })
        })
        expect(sent.status).toBe(202)
        const id = (sent.body as { id: string }).id
        const reverse = run(
          Effect.gen(function* () {
            const config = yield* BridgeConfig
            let taken = 0
            const deadline = Date.now() + 30_000
            for (;;) {
              const n = yield* reverseStep(config)
              taken += n
              if (n === 0 && (taken > 0 || Date.now() > deadline)) return taken
              if (n === 0) yield* Effect.sleep("100 millis")
            }
          })
        )
        expect(yield* reverse).toBeGreaterThan(0)
        // As if the link had been lost in a crash: from the start again, with no legacy id.
        yield* Effect.promise(() =>
          serviceQuery("DELETE FROM legacy_bridge_state WHERE name = 'reverse:notifications'")
        )
        yield* Effect.promise(() => serviceQuery("UPDATE notifications SET legacy_id = NULL WHERE id = $1", [id]))
        yield* reverse
        const logs = yield* Effect.promise(() =>
          legacyQuery<{ id: number; status: string; template_id: number; metadata: Record<string, unknown> }>(
            "SELECT id, status, template_id, metadata FROM notifications_notificationlog WHERE metadata ->> 'notification_service_id' = $1",
            [id]
          )
        )
        expect(logs).toHaveLength(1)
        expect(logs[0]).toMatchObject({
          status: "pending",
          template_id: 1,
          metadata: { k: "v", notification_service_id: id }
        })
        const [linked] = yield* Effect.promise(() =>
          serviceQuery<{ legacy_id: number }>("SELECT legacy_id FROM notifications WHERE id = $1", [id])
        )
        expect(linked?.legacy_id).toBe(logs[0]?.id)
        // Written with the service's origin: nothing for the forward direction to send back.
        const echoed = yield* Effect.promise(() =>
          legacyQuery<{ n: number }>(
            "SELECT count(*)::int AS n FROM notifications_legacy_changes WHERE row_id = $1 AND table_name = 'notifications_notificationlog'",
            [logs[0]?.id]
          )
        )
        expect(echoed[0]?.n).toBe(0)
      })
    )
  })
}
