/**
 * What the benchmark scripts (bench/dispatch.ts, bench/pipeline.ts) share: their options, the Twilio
 * stub they send to, the throwaway database they run on, CPU shares and the tables they write. Kept
 * here so that both measure and report the same way.
 */

import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { cpus } from "node:os"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Clock from "effect/Clock"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Scope from "effect/Scope"
import pg from "pg"

export class BenchError extends Data.TaggedError("BenchError")<{ readonly message: string }> {}

/** Epoch milliseconds with sub-millisecond precision, on the same clock as Effect's span times. */
const clock = Clock.make()
export const nowMs = () => Number(clock.unsafeCurrentTimeNanos()) / 1e6

// ---------------------------------------------------------------------------------------------
// Options: `--name=value` (or `--name value`) on the command line, else BENCH_NAME, else defaults.

/** The command line as BENCH_* settings; a name not in `optionNames` is an error, not ignored. */
const parseArgs = (
  optionNames: ReadonlyArray<string>,
  args: ReadonlyArray<string>
): Effect.Effect<Map<string, string>, BenchError> =>
  Effect.gen(function* () {
    const settings = new Map<string, string>()
    for (let i = 0; i < args.length; i++) {
      const match = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i] ?? "")
      const name = match?.[1]
      if (name === undefined || !optionNames.some((known) => known === name)) {
        return yield* new BenchError({
          message: `unknown argument '${args[i]}' (options: ${optionNames.map((o) => `--${o}=…`).join(" ")})`
        })
      }
      const value = match?.[2] ?? args[++i]
      if (value === undefined) return yield* new BenchError({ message: `--${name} needs a value` })
      settings.set(`BENCH_${name.toUpperCase().replaceAll("-", "_")}`, value)
    }
    return settings
  })

/** `config` read from this process's command line first, then from the environment. */
export const readOptions = <A>(
  optionNames: ReadonlyArray<string>,
  config: Config.Config<A>
): Effect.Effect<A, BenchError | ConfigError.ConfigError> =>
  Effect.flatMap(parseArgs(optionNames, process.argv.slice(2)), (cli) =>
    Effect.withConfigProvider(
      config,
      ConfigProvider.fromMap(cli).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
    )
  )

/** Runs a benchmark's main program: Node's file system and the like, and only warnings from the service's logs. */
export const runBench = <E>(main: Effect.Effect<void, E, Scope.Scope | NodeContext.NodeContext>) =>
  main.pipe(
    Effect.scoped,
    Effect.provide(NodeContext.layer),
    Effect.provide(Logger.minimumLogLevel(LogLevel.Warning)),
    NodeRuntime.runMain
  )

// ---------------------------------------------------------------------------------------------
// The provider stub: Twilio's Messages endpoint, answering 201 with a fresh sid after `latency`.

export interface StubStats {
  readonly requests: number
  /** Requests whose idempotency token was seen before; counted only with `recordTokens`. */
  readonly duplicates: number
  readonly inFlight: number
  readonly maxInFlight: number
}

export interface ProviderStub {
  readonly url: string
  /** Idempotency token (the notification id) -> first receive time (`nowMs`); empty unless `recordTokens`. */
  readonly received: ReadonlyMap<string, number>
  /** Zeroes the counters for the next run (`received` stays: the ids of a run are its own). */
  readonly reset: Effect.Effect<void>
  readonly stats: Effect.Effect<StubStats>
}

const messagesPath = /^\/2010-04-01\/Accounts\/[^/]+\/Messages\.json$/

export const providerStub = (
  latency: Duration.Duration,
  options: {
    /** Remember when each notification first arrived, for latency to the provider and duplicate sends. */
    readonly recordTokens?: boolean
  } = {}
): Effect.Effect<ProviderStub, never, Scope.Scope> =>
  Effect.gen(function* () {
    const received = new Map<string, number>()
    const stats = { requests: 0, duplicates: 0, inFlight: 0, maxInFlight: 0 }
    let sequence = 0
    const delay = Duration.toMillis(latency)

    const handle = (incoming: IncomingMessage, response: ServerResponse) => {
      // Taken first: the receive time should not include this handler's own work.
      const at = nowMs()
      incoming.resume()
      if (incoming.method !== "POST" || !messagesPath.test(incoming.url ?? "")) {
        response.writeHead(404, { "content-type": "application/json" })
        response.end(JSON.stringify({ code: 20404, message: "not found" }))
        return
      }
      if (options.recordTokens === true) {
        const token = String(incoming.headers["i-twilio-idempotency-token"] ?? "")
        if (received.has(token)) stats.duplicates += 1
        else received.set(token, at)
      }
      stats.requests += 1
      stats.inFlight += 1
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight)
      setTimeout(() => {
        stats.inFlight -= 1
        sequence += 1
        response.writeHead(201, { "content-type": "application/json" })
        response.end(JSON.stringify({ sid: `SM${sequence.toString(16).padStart(32, "0")}`, status: "queued" }))
      }, delay)
    }

    const server = yield* Effect.acquireRelease(
      Effect.async<ReturnType<typeof createServer>>((resume) => {
        const server = createServer(handle)
        // Port 0: the system picks a free one, so runs never collide.
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.close(() => resume(Effect.void))
          // Keep-alive connections would otherwise hold `close` open until they time out.
          server.closeAllConnections()
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    return {
      url: `http://127.0.0.1:${port}`,
      received,
      reset: Effect.sync(() => {
        stats.requests = 0
        stats.duplicates = 0
        // Calls still answering from before belong to the next run's peak.
        stats.maxInFlight = stats.inFlight
      }),
      stats: Effect.sync(() => ({ ...stats }))
    }
  })

// ---------------------------------------------------------------------------------------------
// The database: a fresh one on the server of DATABASE_URL, dropped at the end.

/** Runs one statement on a connection of its own: CREATE/DROP DATABASE cannot run in a pool's transaction. */
const withAdmin = (url: string, statement: string) =>
  Effect.acquireUseRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new pg.Client({ connectionString: url })
        await client.connect()
        return client
      },
      catch: (cause) => new BenchError({ message: `cannot connect to ${url}: ${String(cause)}` })
    }),
    (client) =>
      Effect.tryPromise({
        try: () => client.query(statement),
        catch: (cause) => new BenchError({ message: `${statement}: ${String(cause)}` })
      }),
    (client) => Effect.promise(() => client.end())
  )

/** A new database `<prefix>_<now>` on the server of `serverUrl`, dropped when the scope closes; its URL. */
export const serverDatabase = (serverUrl: string, prefix: string): Effect.Effect<string, BenchError, Scope.Scope> => {
  const name = `${prefix}_${Date.now()}`
  const database = new URL(serverUrl)
  database.pathname = `/${name}`
  return Effect.acquireRelease(Effect.as(withAdmin(serverUrl, `CREATE DATABASE ${name}`), database.toString()), () =>
    // FORCE: pools of a failed run may still be connected.
    Effect.orDie(withAdmin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  )
}

// ---------------------------------------------------------------------------------------------
// Measuring and reporting.

export const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits

export interface MachineTimes {
  readonly busy: number
  readonly total: number
}

/** Busy and total CPU time of every core so far, from `os.cpus()`. */
export const machineTimes: Effect.Effect<MachineTimes> = Effect.sync(() =>
  cpus().reduce(
    (sum, cpu) => {
      const { user, nice, sys, irq, idle } = cpu.times
      const busy = user + nice + sys + irq
      return { busy: sum.busy + busy, total: sum.total + busy + idle }
    },
    { busy: 0, total: 0 }
  )
)

/** Busy share of all cores between two `machineTimes`, in %: other processes count too. */
export const machineShare = (before: MachineTimes, after: MachineTimes) =>
  round(((after.busy - before.busy) / Math.max(1, after.total - before.total)) * 100, 0)

/** This machine as the results name it. */
export const machineInfo = () => {
  const processors = cpus()
  return { node: process.version, cpus: processors.length, cpuModel: processors[0]?.model.trim() ?? "cpu" }
}

/** A Markdown table with its columns padded, so that the file reads as a table too. */
export const markdownTable = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => (row[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(" | ")} |`
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}
