import { PgClient } from "@effect/sql-pg"
import { afterAll, describe, expect } from "@effect/vitest"
import { EventStore, NotificationRepo, ProjectionReplay, projectionColumns } from "@notification-service/core"
import { Notification, type NotificationId } from "@notification-service/domain"
import type { UnknownException } from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import pg from "pg"
import { inject } from "vitest"
import { runScript } from "./support/cli.js"
import { privateDatabase } from "./support/database.js"
import { json, migrate, raw, testServer, unique, withServerLayer } from "./support/server.js"

// The dispatcher takes every due notification, and the projection is compared whole: a database of its own.
const database = await privateDatabase(inject("databaseUrl"), migrate)
afterAll(() => database?.stop())

const snapshotEvery = 2

/** The store's services in this process, on the private database. */
const storeLayer = (url: string) =>
  Layer.mergeAll(EventStore.Default, NotificationRepo.Default, ProjectionReplay.Default).pipe(
    Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 4 })),
    Layer.provide(
      Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["EVENT_STORE_SNAPSHOT_EVERY", String(snapshotEvery)]])))
    )
  )

const sqlOn = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new pg.Client({ connectionString: url })
      await client.connect()
      return client
    }),
    (client) => Effect.promise(() => client.end())
  ).pipe(
    Effect.map(
      (client) =>
        <Row>(text: string, values: ReadonlyArray<unknown> = []) =>
          Effect.tryPromise(() => client.query(text, [...values]).then((result) => result.rows as Array<Row>))
    )
  )

/** The projections as Postgres prints them: equal text is equal bytes. */
type Query = <Row>(text: string, values?: ReadonlyArray<unknown>) => Effect.Effect<Array<Row>, UnknownException>

const dumpProjections = (query: Query) =>
  Effect.all({
    notifications: query<{ dump: string }>(
      "SELECT string_agg(n::text, E'\\n' ORDER BY id) AS dump FROM notifications n"
    ).pipe(Effect.map((rows) => rows[0]?.dump ?? "")),
    counts: query<{ dump: string }>(
      "SELECT string_agg(c::text, E'\\n' ORDER BY user_id, status) AS dump FROM notification_counts c WHERE count <> 0"
    ).pipe(Effect.map((rows) => rows[0]?.dump ?? ""))
  })

const runReplay = (url: string, args: ReadonlyArray<string>) =>
  Effect.promise(() => runScript("packages/migrations/src/bin/replay.ts", args, { DATABASE_URL: url }))

if (database === undefined) {
  describe.skip("event store (needs a private database on PostgreSQL; PGlite has one database)", () => {})
} else {
  const url = database.url
  const server = testServer(
    {
      DISPATCHER_ENABLED: "true",
      DISPATCHER_POLL_INTERVAL: "100 millis",
      EVENT_STORE_SNAPSHOT_EVERY: String(snapshotEvery)
    },
    { url }
  )

  withServerLayer(server)("event store", (it) => {
    it.effect("the projection columns are the notifications table's", () =>
      Effect.gen(function* () {
        const query = yield* sqlOn(url)
        const columns = yield* query<{ column_name: string }>(
          "SELECT column_name FROM information_schema.columns WHERE table_name = 'notifications' ORDER BY ordinal_position"
        )
        expect(columns.map((c) => c.column_name).sort()).toEqual([...projectionColumns].sort())
      }).pipe(Effect.scoped)
    )

    it.effect(
      "every change is an event; replay rebuilds the projections byte for byte; snapshots give the same state",
      () =>
        Effect.gen(function* () {
          const query = yield* sqlOn(url)
          const template = (type: string, body: string) =>
            raw("/api/v1/templates", json("POST", { name: unique("es"), type, body })).pipe(
              Effect.map((response) => (response.body as { id: string }).id)
            )
          const sms = yield* template("sms", "Your code is ready")
          const push = yield* template("push", "Hello")
          const send = (body: Record<string, unknown>) =>
            raw("/api/v1/notifications/send", json("POST", body)).pipe(
              Effect.map((response) => response.body as { id: string; status: string })
            )
          yield* raw("/api/v1/preferences/user/900002", json("PUT", { push_enabled: false }))

          // Live traffic of every kind: sent (then delivered or bounced), suppressed, failed, scheduled.
          const sent = yield* Effect.all(
            Array.from({ length: 8 }, (_, i) =>
              send({ user_id: 900001 + (i % 3), template_id: sms, recipient: { phone: "+447700900123" } })
            )
          )
          const suppressed = yield* send({ user_id: 900002, template_id: push, recipient: { device_token: "t" } })
          const failed = yield* send({ user_id: 900003, template_id: push })
          const later = yield* send({
            user_id: 900001,
            template_id: sms,
            recipient: { phone: "+447700900123" },
            scheduled_at: new Date(Date.now() + 3_600_000).toISOString()
          })
          expect([suppressed.status, later.status]).toEqual(["suppressed", "scheduled"])

          const statusOf = (id: string) =>
            query<{ status: string }>("SELECT status FROM notifications WHERE id = $1", [id]).pipe(
              Effect.map((rows) => rows[0]?.status)
            )
          const settled = (id: string, status: string) =>
            statusOf(id).pipe(
              Effect.filterOrFail(
                (current) => current === status,
                (current) => new Error(`${id} is ${current}`)
              ),
              Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("15 seconds")))
            )
          yield* Effect.all(sent.map((n) => settled(n.id, "sent")))
          yield* settled(failed.id, "failed")
          for (const [i, n] of sent.entries()) {
            if (i % 2 === 0) yield* raw(`/api/v1/notifications/${n.id}/status`, json("PUT", { status: "delivered" }))
            if (i === 1) yield* raw(`/api/v1/notifications/${n.id}/status`, json("PUT", { status: "bounced" }))
          }

          // The store: versions 1..n per notification, the projection at the last one, types in order.
          const history = yield* query<{ version: number; type: string }>(
            "SELECT version, type FROM notification_events WHERE aggregate_id = $1 ORDER BY version",
            [sent[0]?.id]
          )
          expect(history).toEqual([
            { version: 1, type: "notification.accepted" },
            { version: 2, type: "notification.claimed" },
            { version: 3, type: "notification.sent" },
            { version: 4, type: "notification.delivered" }
          ])
          const gaps = yield* query<{ id: string }>(
            `SELECT n.id FROM notifications n
             JOIN (SELECT aggregate_id, max(version) AS last, count(*) AS events FROM notification_events
                   GROUP BY aggregate_id) e ON e.aggregate_id = n.id
             WHERE n.version <> e.last OR e.events <> e.last`
          )
          expect(gaps).toEqual([])
          // The live per-user counters agree with the rows.
          const drift = yield* query(
            `SELECT user_id, status FROM notifications GROUP BY user_id, status
             EXCEPT SELECT user_id, status FROM notification_counts c
               WHERE c.count = (SELECT count(*) FROM notifications n WHERE n.user_id = c.user_id AND n.status = c.status)`
          )
          expect(drift).toEqual([])

          // Append-only.
          const refused = yield* Effect.either(
            query("UPDATE notification_events SET type = 'x' WHERE aggregate_id = $1", [sent[0]?.id])
          )
          expect(Either.isLeft(refused) && String(refused.left.cause)).toMatch(/append-only/)

          const live = yield* dumpProjections(query)
          expect(live.notifications.split("\n")).toHaveLength(11)

          // Break the projections every way: tampered rows, a lost row, lost counters.
          yield* query(`UPDATE notifications SET metadata = '{"tampered": true}', attempts = attempts + 5, version = 0`)
          yield* query("DELETE FROM notifications WHERE id = $1", [later.id])
          yield* query("DELETE FROM notification_counts")
          expect((yield* dumpProjections(query)).notifications).not.toBe(live.notifications)

          const replay = yield* runReplay(url, ["--batch-size", "3"])
          expect(replay.stderr).toMatch(/replay \[#+\] 100% 11\/11 notifications/)
          expect(replay.stdout).toMatch(/rebuilt 11 notifications from \d+ events; \d+ counter rows/)
          const rebuilt = yield* dumpProjections(query)
          expect(rebuilt.notifications).toBe(live.notifications)
          expect(rebuilt.counts).toBe(live.counts)

          // One aggregate: the same state from its latest snapshot plus later events as from all events.
          const withSnapshot = yield* Effect.flatMap(EventStore, (store) => store.load(sent[0]?.id ?? "")).pipe(
            Effect.provide(storeLayer(url))
          )
          const withoutSnapshot = yield* Effect.flatMap(EventStore, (store) =>
            store.load(sent[0]?.id ?? "", { snapshots: false })
          ).pipe(Effect.provide(storeLayer(url)))
          const asRow = (state: Option.Option<unknown>) =>
            query<{ row: string }>("SELECT jsonb_populate_record(NULL::notifications, $1::jsonb)::text AS row", [
              JSON.stringify(Option.getOrThrow(state))
            ]).pipe(Effect.map((rows) => rows[0]?.row))
          const snapshots = yield* query<{ version: number }>(
            "SELECT version FROM notification_snapshots WHERE aggregate_id = $1 ORDER BY version",
            [sent[0]?.id]
          )
          expect(snapshots.map((s) => s.version)).toEqual([2, 4])
          expect(yield* asRow(withSnapshot)).toBe(yield* asRow(withoutSnapshot))
          const [liveRow] = yield* query<{ row: string }>("SELECT n::text AS row FROM notifications n WHERE id = $1", [
            sent[0]?.id
          ])
          expect(yield* asRow(withSnapshot)).toBe(liveRow?.row)

          // The snapshot is what `load` starts from: a doctored one shows through, and only with snapshots.
          yield* query(
            `UPDATE notification_snapshots SET state = state || '{"provider": "doctored"}' WHERE aggregate_id = $1 AND version = 4`,
            [sent[0]?.id]
          )
          const one = yield* runReplay(url, ["--aggregate", sent[0]?.id ?? "", "--json"])
          expect(JSON.parse(one.stdout)).toEqual({ aggregate: sent[0]?.id, found: true, version: 4 })
          expect(yield* statusAndProvider(query, sent[0]?.id ?? "")).toEqual({
            status: "delivered",
            provider: "doctored"
          })
          yield* runReplay(url, ["--aggregate", sent[0]?.id ?? "", "--no-snapshots"])
          expect(yield* statusAndProvider(query, sent[0]?.id ?? "")).toEqual({ status: "delivered", provider: "log" })
        }).pipe(Effect.scoped),
      60_000
    )

    it.effect("a writer whose state is stale conflicts and appends nothing", () =>
      Effect.gen(function* () {
        const query = yield* sqlOn(url)
        const templateId = (yield* raw(
          "/api/v1/templates",
          json("POST", { name: unique("es"), type: "sms", body: "Hi" })
        ).pipe(Effect.map((response) => (response.body as { id: string }).id))) as string
        const accepted = (yield* raw(
          "/api/v1/notifications/send",
          json("POST", {
            user_id: 900010,
            template_id: templateId,
            recipient: { phone: "+447700900123" },
            scheduled_at: new Date(Date.now() + 3_600_000).toISOString()
          })
        )).body as { id: NotificationId }
        const outcome = yield* Effect.gen(function* () {
          const repo = yield* NotificationRepo
          const read = Option.getOrThrow(yield* repo.findVersioned(accepted.id))
          const now = yield* DateTime.now
          const cancel = (reason: string) =>
            repo.change(
              read,
              new Notification({
                ...read.notification,
                status: "cancelled",
                status_reason: reason,
                updated_at: now
              }),
              "notification.status_changed"
            )
          const first = yield* cancel("first")
          const second = yield* Effect.either(cancel("second"))
          return { first, second }
        }).pipe(Effect.provide(storeLayer(url)))
        expect(outcome.first.version).toBe(2)
        expect(Either.isLeft(outcome.second) && outcome.second.left._tag).toBe("ConcurrencyConflict")
        const events = yield* query<{ version: number; reason: string }>(
          "SELECT version, data->>'status_reason' AS reason FROM notification_events WHERE aggregate_id = $1 ORDER BY version",
          [accepted.id]
        )
        expect(events).toEqual([
          { version: 1, reason: null },
          { version: 2, reason: "first" }
        ])
      }).pipe(Effect.scoped)
    )
  })
}

const statusAndProvider = (query: Query, id: string) =>
  query<{ status: string; provider: string }>("SELECT status, provider FROM notifications WHERE id = $1", [id]).pipe(
    Effect.map((rows) => rows[0])
  )
