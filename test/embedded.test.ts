import { spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { freePort, waitFor } from "./support/process.js"

const root = fileURLToPath(new URL("..", import.meta.url))

/** `npm start` without DATABASE_URL: PGlite under DATA_DIR, a demo key printed once. */
const start = (port: number, dataDir: string) => {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: "127.0.0.1", DATA_DIR: dataDir }
  delete env.DATABASE_URL
  delete env.API_KEYS
  delete env.REDIS_URL
  // Without Kafka the embedded server dispatches in-process, which this test checks.
  delete env.KAFKA_BROKERS
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", "packages/server/src/main.ts"], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "inherit"]
  })
  let output = ""
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8")
    if (process.env.DEBUG_EMBEDDED) process.stderr.write(chunk)
  })
  return { child, output: () => output }
}

const stop = async (child: ReturnType<typeof start>["child"]) => {
  const exited = once(child, "exit")
  child.kill("SIGTERM")
  const [code] = await exited
  return code
}

const waitForStatus = async (url: string, headers: Record<string, string>, status: string) => {
  const deadline = Date.now() + 30_000
  let last: unknown
  while (Date.now() < deadline) {
    last = await fetch(url, { headers }).then((response) => response.json())
    if ((last as { status?: string }).status === status) return last
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} did not become ${status}: ${JSON.stringify(last)}`)
}

describe("embedded default", () => {
  it("runs on PGlite with no database configured, keeps data and the demo key across restarts", {
    timeout: 90_000
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "ns-embedded-"))
    try {
      const port = await freePort()
      const base = `http://127.0.0.1:${port}`
      const first = start(port, dataDir)
      await waitFor(`${base}/health/ready`, 200, 60_000)
      const key = /Demo API key[^\n]*\n\s*\n\s*(\S+)/.exec(first.output())?.[1]
      expect(key).toMatch(/^ns_demo_/)
      expect(first.output()).toContain('"migrations applied"')
      expect(first.output()).toContain(`"API docs at http://127.0.0.1:${port}/docs"`)
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" }
      const created = await fetch(`${base}/api/v1/templates`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          name: "welcome",
          type: "sms",
          body: "Welcome {{ name }}",
          variables: [{ name: "name" }]
        })
      })
      expect(created.status).toBe(201)
      const sent = await fetch(`${base}/api/v1/notifications/send`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          user_id: 1,
          template_name: "welcome",
          variables: { name: "Ada" },
          recipient: { phone: "+447700900123" }
        })
      })
      expect(sent.status).toBe(202)
      const accepted = (await sent.json()) as { id: string }
      // The in-process dispatcher delivers it through the `log` provider.
      const delivered = await waitForStatus(`${base}/api/v1/notifications/${accepted.id}`, headers, "sent")
      expect(delivered).toMatchObject({ provider: "log", attempts: 1, content: { text: "Welcome Ada" } })
      // Scheduled work lives in the database: this one is due after the restart below.
      const later = await fetch(`${base}/api/v1/notifications/send`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          user_id: 1,
          template_name: "welcome",
          variables: { name: "Grace" },
          recipient: { phone: "+447700900124" },
          scheduled_at: new Date(Date.now() + 4_000).toISOString()
        })
      })
      const scheduled = (await later.json()) as { id: string; status: string }
      expect(scheduled.status).toBe("scheduled")
      // One JSON log line per request, with what an operator needs to find it again. The line
      // travels through a pipe, so give it a moment to arrive.
      for (let i = 0; i < 20 && !first.output().includes('"status":202'); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const requestLines = first
        .output()
        .split("\n")
        .filter((line) => line.includes('"http request"'))
        .map((line) => JSON.parse(line) as { annotations: Record<string, unknown> })
      expect(requestLines.map((line) => line.annotations)).toContainEqual(
        expect.objectContaining({
          method: "POST",
          route: "/api/v1/notifications/send",
          path: "/api/v1/notifications/send",
          status: 202,
          duration_ms: expect.any(Number),
          request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          trace_id: expect.stringMatching(/^[0-9a-f]{32}$/)
        })
      )
      expect(await stop(first.child)).toBe(0)

      const second = start(port, dataDir)
      await waitFor(`${base}/health/ready`, 200, 60_000)
      expect(second.output()).not.toContain(key)
      const listed = await fetch(`${base}/api/v1/notifications/user/1`, { headers })
      expect(listed.status).toBe(200)
      const page = (await listed.json()) as { data: Array<{ status: string; channel: string }> }
      expect(page.data.map((n) => n.channel)).toEqual(["sms", "sms"])
      const afterRestart = await waitForStatus(`${base}/api/v1/notifications/${scheduled.id}`, headers, "sent")
      expect(afterRestart).toMatchObject({ provider: "log", content: { text: "Welcome Grace" } })
      expect(second.output()).toContain('"would deliver"')
      expect(await stop(second.child)).toBe(0)
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})
