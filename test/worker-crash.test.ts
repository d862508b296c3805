import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { inject } from "vitest"
import { privateDatabase } from "./support/database.js"
import { commandRecord, kafkaBrokers, makeKafka, produce, uniqueTopic } from "./support/kafka.js"
import { freePort, waitFor } from "./support/process.js"
import { migrate, unique } from "./support/server.js"

const root = fileURLToPath(new URL("..", import.meta.url))
const kafka = await kafkaBrokers()
const database = await privateDatabase(inject("databaseUrl"), migrate)
afterAll(() => database?.stop())

/**
 * A Twilio stand-in that honours the idempotency token as Twilio does: a repeated token gets the
 * first answer and delivers nothing more. It counts raw calls and deliveries per token.
 */
const startTwilio = async () => {
  const calls = new Map<string, number>()
  const delivered = new Set<string>()
  const server = createServer((request, response) => {
    request.resume()
    request.on("end", () => {
      const token = String(request.headers["i-twilio-idempotency-token"] ?? "")
      calls.set(token, (calls.get(token) ?? 0) + 1)
      setTimeout(() => {
        delivered.add(token)
        response.writeHead(201, { "content-type": "application/json" })
        response.end(JSON.stringify({ sid: `SM${token.replaceAll("-", "")}` }))
      }, 20)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    delivered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

const startWorker = (env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, ["--import", "tsx", "--conditions=source", "packages/workers/src/main.ts"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"]
  })

const count = async (url: string, sql: string, values: ReadonlyArray<unknown> = []) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const result = await client.query(sql, [...values])
    return Number((result.rows[0] as { count: string }).count)
  } finally {
    await client.end()
  }
}

const until = async (condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}

const reason = "skip" in kafka ? kafka.skip : database === undefined ? "needs a PostgreSQL server" : undefined

describe.skipIf(reason !== undefined)(`worker killed mid-batch${reason === undefined ? "" : ` (${reason})`}`, () => {
  it("a SIGKILLed worker, restarted, delivers every notification once: no lost or duplicated command or message", {
    timeout: 120_000
  }, async () => {
    if ("skip" in kafka || database === undefined) return
    const twilio = await startTwilio()
    const total = 120
    try {
      const setup = new pg.Client({ connectionString: database.url })
      await setup.connect()
      const templateName = unique("crash")
      await setup.query(
        `INSERT INTO templates (id, name, type, body, syntax, variables)
         VALUES (gen_random_uuid(), $1, 'sms', 'Code {{ code }}', 'liquid', '[{"name":"code","required":true}]')`,
        [templateName]
      )
      await setup.end()

      const commands = uniqueTopic("crash.commands")
      const env = {
        DATABASE_URL: database.url,
        DATABASE_POOL_SIZE: "5",
        KAFKA_BROKERS: kafka.brokers.join(","),
        KAFKA_CLIENT_ID: unique("crash"),
        KAFKA_TOPIC_COMMANDS: commands,
        KAFKA_TOPIC_EVENTS: uniqueTopic("crash.events"),
        KAFKA_TOPIC_IDENTITY: uniqueTopic("crash.identity"),
        KAFKA_IDEMPOTENT_PRODUCER: "false",
        SMS_PROVIDERS: "twilio",
        TWILIO_BASE_URL: twilio.baseUrl,
        TWILIO_ACCOUNT_SID: "AC0123456789",
        TWILIO_AUTH_TOKEN: "secret",
        TWILIO_FROM: "+15005550006",
        SMS_BULKHEAD_MAX_CONCURRENT_CALLS: "4",
        DISPATCHER_LEASE: "3 seconds",
        DISPATCHER_POLL_INTERVAL: "200 millis",
        OUTBOX_RELAY_POLL_INTERVAL: "200 millis",
        KAFKA_SESSION_TIMEOUT: "6 seconds",
        LOG_LEVEL: "ERROR"
      }
      const client = makeKafka(kafka.brokers)
      await produce(
        client,
        commands,
        Array.from({ length: total }, (_, i) =>
          commandRecord(crypto.randomUUID(), 1000 + (i % 7), {
            template_name: templateName,
            variables: { code: String(i) },
            recipient: { phone: "+447700900123" }
          })
        )
      )

      const firstPort = await freePort()
      const first = startWorker({ ...env, WORKER_PORT: String(firstPort) })
      await waitFor(`http://127.0.0.1:${firstPort}/health/ready`, 200, 60_000)
      // Kill it in the middle: some commands taken, some notifications sent, some in flight.
      await until(() => twilio.calls.size >= total / 4, 60_000, "the first quarter of provider calls")
      const exited = once(first, "exit")
      first.kill("SIGKILL")
      await exited
      const sentBeforeKill = twilio.delivered.size
      expect(sentBeforeKill).toBeLessThan(total)

      const secondPort = await freePort()
      const second = startWorker({ ...env, WORKER_PORT: String(secondPort) })
      try {
        await until(
          async () => (await count(database.url, "SELECT count(*) FROM notifications WHERE status = 'sent'")) === total,
          90_000,
          "every notification sent"
        )
      } finally {
        const stopped = once(second, "exit")
        second.kill("SIGTERM")
        const [code] = await stopped
        expect(code).toBe(0)
      }

      // Every command became exactly one notification, and each reached the provider once.
      expect(await count(database.url, "SELECT count(*) FROM notifications")).toBe(total)
      expect(await count(database.url, "SELECT count(*) FROM processed_messages WHERE consumer = 'commands'")).toBe(
        total
      )
      expect(twilio.delivered.size).toBe(total)
      const repeated = [...twilio.calls.values()].filter((calls) => calls > 1).length
      // A notification whose provider call was in flight, or answered but not yet recorded, at the
      // kill is called again once its lease lapses — with the same token, so the provider delivers
      // it once. Only the few claimed at that moment can be affected, never the queue behind them.
      expect(Math.max(...twilio.calls.values())).toBeLessThanOrEqual(2)
      expect(repeated).toBeLessThan(total / 4)
      console.log(
        `[worker-crash] ${sentBeforeKill} delivered before SIGKILL, ${total} after restart; ${repeated} repeated calls (same idempotency token)`
      )
    } finally {
      await twilio.close()
    }
  })
})
