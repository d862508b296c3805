import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import pg from "pg"
import { inject } from "vitest"
import { freePort, waitFor } from "./support/process.js"
import { apiKeysConfig, keys, onPglite, raw, TestServerInfo, testServer } from "./support/server.js"

const root = fileURLToPath(new URL("..", import.meta.url))

const startProcess = (port: number): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", "--conditions=source", "packages/server/src/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: inject("databaseUrl"),
      DATABASE_POOL_SIZE: inject("databaseKind").startsWith("PGlite") ? "1" : "10",
      RUN_MIGRATIONS: "false",
      PORT: String(port),
      HOST: "127.0.0.1",
      API_KEYS: apiKeysConfig(),
      SHUTDOWN_PRESTOP_DELAY: "1 second",
      SHUTDOWN_GRACE_PERIOD: "10 seconds",
      LOG_LEVEL: "WARN",
      // The database is shared with every other test file: this process must not dispatch their notifications.
      DISPATCHER_ENABLED: "false"
    },
    stdio: ["ignore", "inherit", "inherit"]
  })

describe("graceful shutdown", () => {
  it.skipIf(onPglite)(
    "on SIGTERM: readiness fails, in-flight requests finish, the process exits 0",
    { timeout: 60_000 },
    async () => {
      const port = await freePort()
      const base = `http://127.0.0.1:${port}`
      const child = startProcess(port)
      const exited = once(child, "exit")
      try {
        await waitFor(`${base}/health/ready`, 200, 30_000)
        const headers = { authorization: `Bearer ${keys.admin}`, "content-type": "application/json" }
        const template = (await (
          await fetch(`${base}/api/v1/templates`, {
            method: "POST",
            headers,
            body: JSON.stringify({ name: `shutdown_${Date.now()}`, type: "push", body: "hi" })
          })
        ).json()) as { id: string }
        const ids: Array<string> = []
        for (let i = 0; i < 5; i++) {
          const sent = await fetch(`${base}/api/v1/notifications/send`, {
            method: "POST",
            headers,
            body: JSON.stringify({ user_id: 4242, template_id: template.id })
          })
          ids.push(((await sent.json()) as { id: string }).id)
        }

        // Hold the rows' locks so the status updates are still running when SIGTERM arrives.
        const blocker = new pg.Client({ connectionString: inject("databaseUrl") })
        await blocker.connect()
        await blocker.query("BEGIN")
        await blocker.query("SELECT id FROM notifications WHERE id = ANY($1::uuid[]) FOR UPDATE", [ids])
        const inFlight = ids.map((id) =>
          fetch(`${base}/api/v1/notifications/${id}/status`, {
            method: "PUT",
            headers,
            body: JSON.stringify({ status: "sending" })
          }).then(async (r) => ({ status: r.status, body: (await r.json()) as { status: string } }))
        )
        await new Promise((resolve) => setTimeout(resolve, 300))
        child.kill("SIGTERM")

        await waitFor(`${base}/health/ready`, 503, 900)
        const ready = await fetch(`${base}/health/ready`).then((r) => r.json())
        expect(ready).toMatchObject({ status: "fail", failing: ["shutdown"] })

        await new Promise((resolve) => setTimeout(resolve, 1_200))
        await blocker.query("COMMIT")
        await blocker.end()

        const results = await Promise.all(inFlight)
        expect(results).toEqual(ids.map(() => ({ status: 200, body: expect.objectContaining({ status: "sending" }) })))
        const [code, signal] = await exited
        expect({ code, signal }).toEqual({ code: 0, signal: null })
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL")
      }
    }
  )
})

describe("readiness", () => {
  it.effect.skipIf(onPglite)(
    "answers 503 naming the database check when the database goes away",
    () =>
      Effect.gen(function* () {
        const name = `ns_ready_${Date.now()}_${process.pid}`
        const serverUrl = new URL(inject("databaseUrl"))
        const admin = new pg.Client({ connectionString: inject("databaseUrl") })
        yield* Effect.promise(() => admin.connect())
        yield* Effect.promise(() => admin.query(`CREATE DATABASE ${name}`))
        serverUrl.pathname = `/${name}`
        yield* Effect.gen(function* () {
          const before = yield* raw("/health/ready")
          expect(before.status).toBe(200)
          yield* Effect.promise(() => admin.query(`DROP DATABASE ${name} WITH (FORCE)`))
          const after = yield* raw("/health/ready")
          expect(after.status).toBe(503)
          expect(after.body).toMatchObject({
            status: "fail",
            failing: ["database"],
            checks: { shutdown: { status: "pass" } }
          })
          const live = yield* raw("/health/live")
          expect(live.status).toBe(200)
          const api = yield* raw("/api/v1/templates", { headers: { authorization: `Bearer ${keys.admin}` } })
          expect(api.status).toBe(503)
          expect(api.body).toMatchObject({ type: "https://notification-service.dev/problems/service-unavailable" })
          yield* TestServerInfo
        }).pipe(Effect.provide(testServer({ DATABASE_URL: serverUrl.toString() })), Effect.scoped)
        yield* Effect.promise(() => admin.end())
      }),
    { timeout: 60_000 }
  )
})
