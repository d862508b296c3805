import { describe, expect, it } from "@effect/vitest"
import {
  type DlqReplayOptions,
  type DlqReplayRecord,
  ProducerLive,
  parseDlqReplayArgs,
  replayDeadLetters
} from "@notification-service/workers"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type { Kafka } from "kafkajs"
import { runScript } from "./support/cli.js"
import { consumeUntil, kafkaBrokers, makeKafka, produce, uniqueTopic } from "./support/kafka.js"

const broker = await kafkaBrokers()

/** `npm run dlq:replay` as a child process. */
const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  runScript("packages/workers/src/bin/dlq-replay.ts", args, env)

describe("dlq-replay command line", () => {
  it("parses every option, in both spellings", () => {
    const parsed = parseDlqReplayArgs([
      "--topic",
      "notifications.commands.dlq",
      "--event-type=notification.requested",
      "--exception-class",
      "UndecodableEvent",
      "--since",
      "2026-11-23T00:00:00Z",
      "--key=42",
      "--dry-run",
      "--limit",
      "10",
      "--json"
    ])
    expect(parsed).toEqual(
      Either.right({
        _tag: "Replay",
        json: true,
        options: {
          topic: "notifications.commands.dlq",
          eventType: "notification.requested",
          exceptionClass: "UndecodableEvent",
          since: new Date("2026-11-23T00:00:00Z"),
          key: "42",
          dryRun: true,
          limit: 10
        }
      })
    )
    expect(parseDlqReplayArgs(["--topic", "t.dlq"])).toEqual(
      Either.right({
        _tag: "Replay",
        json: false,
        options: {
          topic: "t.dlq",
          eventType: undefined,
          exceptionClass: undefined,
          since: undefined,
          key: undefined,
          dryRun: false,
          limit: undefined
        }
      })
    )
    expect(parseDlqReplayArgs(["--topic", "t.dlq", "--help"])).toEqual(Either.right({ _tag: "Help" }))
  })

  it("refuses what it cannot use, saying why", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
      [[], "--topic is required"],
      [["--topic"], "--topic needs a value"],
      [["--topic", "t.dlq", "--key", "--dry-run"], "--key needs a value"],
      [["--topic", "a", "--topic", "b"], "--topic given more than once"],
      [["--topic", "t.dlq", "--limit", "0"], "--limit must be a whole number of at least 1"],
      [["--topic", "t.dlq", "--limit", "2.5"], "--limit must be a whole number of at least 1"],
      [["--topic", "t.dlq", "--since", "yesterday"], "--since must be an ISO 8601 date or time"],
      [["--topic", "t.dlq", "--since", "2026-13-45T00:00:00Z"], "--since must be an ISO 8601 date or time"],
      [["--topic", "t.dlq", "--exception-class="], "--exception-class needs a value"],
      [["--topic", "t.dlq", "--verbose"], "unknown option --verbose"],
      [["--topic", "t.dlq", "extra"], 'unexpected argument "extra"']
    ]
    for (const [args, message] of cases) {
      const left = Either.getLeft(parseDlqReplayArgs(args))
      expect(left._tag, args.join(" ")).toBe("Some")
      if (left._tag === "Some") expect(left.value.message, args.join(" ")).toContain(message)
    }
  })

  it("prints the reason and the usage on stderr and exits 2 on bad arguments", async () => {
    const { code, stdout, stderr } = await runCli(["--topic", "t.dlq", "--limit", "0"])
    expect(code).toBe(2)
    expect(stdout).toBe("")
    expect(stderr).toContain("--limit must be a whole number of at least 1")
    expect(stderr).toContain("usage: npm run dlq:replay -- --topic <dead-letter topic>")
  }, 60_000)
})

/** How many records `topic` holds; 0 for a topic nobody created (nothing was produced to it). */
const recordCount = async (kafka: Kafka, topic: string): Promise<number> => {
  const admin = kafka.admin()
  await admin.connect()
  try {
    if (!(await admin.listTopics()).includes(topic)) return 0
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.reduce((sum, partition) => sum + Number(partition.high) - Number(partition.low), 0)
  } finally {
    await admin.disconnect()
  }
}

const dlqHeaders = (original: string | undefined, exceptionClass: string, failedAt: string) => ({
  ...(original === undefined ? {} : { "dlq.original.topic": original }),
  "dlq.original.partition": "2",
  "dlq.original.offset": "17",
  "dlq.exception.class": exceptionClass,
  "dlq.exception.message": `${exceptionClass}: it broke`,
  "dlq.failed_at": failedAt,
  "dlq.consumer_group": "notification-service.commands"
})

if ("skip" in broker) {
  describe.skip(`dlq replay through Kafka (${broker.skip})`, () => {})
} else {
  const kafka = makeKafka(broker.brokers, "ns-tests-dlq-replay")
  const settings = {
    KAFKA_BROKERS: broker.brokers.join(","),
    // librdkafka's mock cluster has no idempotent producer.
    KAFKA_IDEMPOTENT_PRODUCER: "false",
    KAFKA_CLIENT_ID: "ns-tests-dlq-replay"
  }
  const replay = (options: DlqReplayOptions) =>
    replayDeadLetters(options).pipe(
      Effect.provide(ProducerLive),
      Effect.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(settings))))),
      Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))
    )

  describe(`dlq replay through Kafka (${broker.kind})`, () => {
    it.live(
      "replays the records of one exception class to their original topic; a dry run produces nothing; so does the CLI",
      () =>
        Effect.gen(function* () {
          const original = uniqueTopic("dlq-replay")
          const dlq = `${original}.dlq`
          const failedAt = new Date().toISOString()
          yield* Effect.promise(() =>
            produce(kafka, dlq, [
              {
                key: "1",
                value: "{not json",
                headers: {
                  event_type: "notification.requested",
                  trace: "t-1",
                  ...dlqHeaders(original, "UndecodableEvent", failedAt)
                }
              },
              {
                key: "2",
                value: '{"event_id":"e-2"}',
                headers: { event_type: "notification.requested", ...dlqHeaders(original, "PermanentFailure", failedAt) }
              },
              {
                key: "3",
                value: "<xml/>",
                headers: {
                  event_type: "user.updated",
                  trace: ["a", "b"],
                  ...dlqHeaders(original, "UndecodableEvent", failedAt)
                }
              }
            ])
          )

          const dry: Array<DlqReplayRecord> = []
          const drySummary = yield* replay({
            topic: dlq,
            exceptionClass: "UndecodableEvent",
            dryRun: true,
            onRecord: (record) => Effect.sync(() => void dry.push(record))
          })
          expect(drySummary).toEqual({ topic: dlq, dryRun: true, scanned: 3, matched: 2, replayed: 0, skipped: 0 })
          expect(dry.map((record) => [record.key, record.outcome, record.target, record.replayCount]).sort()).toEqual([
            ["1", "would-replay", original, 1],
            ["3", "would-replay", original, 1]
          ])
          expect(yield* Effect.promise(() => recordCount(kafka, original))).toBe(0)

          const summary = yield* replay({ topic: dlq, exceptionClass: "UndecodableEvent" })
          expect(summary).toEqual({ topic: dlq, dryRun: false, scanned: 3, matched: 2, replayed: 2, skipped: 0 })
          const replayed = yield* Effect.promise(() => consumeUntil(kafka, original, (seen) => seen.length >= 2))
          const byKey = new Map(replayed.map((message) => [message.key, message]))
          expect(byKey.get("1")).toMatchObject({ value: "{not json", partition: 2 })
          expect(byKey.get("1")?.headers).toEqual({
            event_type: "notification.requested",
            trace: "t-1",
            "dlq.replayed_at": expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
            "dlq.replay_count": "1"
          })
          expect(byKey.get("3")).toMatchObject({ value: "<xml/>", partition: 2 })
          expect(byKey.get("3")?.headers).toEqual({
            event_type: "user.updated",
            trace: ["a", "b"],
            "dlq.replayed_at": expect.any(String),
            "dlq.replay_count": "1"
          })
          // Exactly those two: the PermanentFailure stayed in the dead-letter topic.
          expect(yield* Effect.promise(() => recordCount(kafka, original))).toBe(2)

          const cli = yield* Effect.promise(() =>
            runCli(["--topic", dlq, "--exception-class", "PermanentFailure", "--json"], settings)
          )
          expect(cli.code, cli.stderr).toBe(0)
          const report = JSON.parse(cli.stdout) as Record<string, unknown>
          expect(report).toMatchObject({ topic: dlq, dryRun: false, scanned: 3, matched: 1, replayed: 1, skipped: 0 })
          expect(report.records).toEqual([
            expect.objectContaining({
              key: "2",
              exceptionClass: "PermanentFailure",
              outcome: "replayed",
              target: original
            })
          ])
          const all = yield* Effect.promise(() => consumeUntil(kafka, original, (seen) => seen.length >= 3))
          expect(all.find((message) => message.key === "2")?.headers).toMatchObject({
            event_type: "notification.requested",
            "dlq.replay_count": "1"
          })
          expect(yield* Effect.promise(() => recordCount(kafka, original))).toBe(3)
        }),
      120_000
    )

    it.live(
      "filters by key, event type and failure time; counts replays on; skips records without an original topic; stops at the limit",
      () =>
        Effect.gen(function* () {
          const original = uniqueTopic("dlq-replay-filters")
          const dlq = `${original}.dlq`
          const earlier = "2026-11-20T10:00:00.000Z"
          const later = "2026-11-22T10:00:00.000Z"
          const requested = { event_type: "notification.requested" }
          yield* Effect.promise(() =>
            produce(kafka, dlq, [
              // Replayed twice before, failed again.
              {
                key: "42",
                value: "a",
                headers: {
                  ...requested,
                  ...dlqHeaders(original, "PermanentFailure", earlier),
                  "dlq.replayed_at": earlier,
                  "dlq.replay_count": "2"
                }
              },
              { key: "42", value: "b", headers: { ...requested, ...dlqHeaders(original, "PermanentFailure", later) } },
              { key: "42", value: "c", headers: { ...requested, ...dlqHeaders(undefined, "PermanentFailure", later) } },
              { key: "42", value: "d", headers: { event_type: "user.updated", ...dlqHeaders(original, "X", later) } },
              { key: "7", value: "e", headers: { ...requested, ...dlqHeaders(original, "PermanentFailure", later) } },
              { key: null, value: "f", headers: { ...requested, ...dlqHeaders(original, "PermanentFailure", later) } }
            ])
          )

          const seen: Array<DlqReplayRecord> = []
          const filtered = yield* replay({
            topic: dlq,
            key: "42",
            eventType: "notification.requested",
            since: new Date("2026-11-21T00:00:00Z"),
            onRecord: (record) => Effect.sync(() => void seen.push(record))
          })
          expect(filtered).toEqual({ topic: dlq, dryRun: false, scanned: 6, matched: 2, replayed: 1, skipped: 1 })
          expect(seen.map((record) => [record.offset, record.outcome, record.reason])).toEqual([
            [expect.any(String), "replayed", undefined],
            [expect.any(String), "skipped", "no dlq.original.topic header"]
          ])
          const [first] = yield* Effect.promise(() => consumeUntil(kafka, original, (messages) => messages.length >= 1))
          expect(first).toMatchObject({ key: "42", value: "b", partition: 2 })

          // One key, one partition of the dead-letter topic, in order: the limit takes "a" alone.
          const limited = yield* replay({ topic: dlq, key: "42", limit: 1 })
          expect(limited).toMatchObject({ matched: 1, replayed: 1, skipped: 0 })
          const both = yield* Effect.promise(() => consumeUntil(kafka, original, (messages) => messages.length >= 2))
          expect(both.find((message) => message.value === "a")?.headers).toEqual({
            ...requested,
            "dlq.replayed_at": expect.any(String),
            "dlq.replay_count": "3"
          })
          expect(yield* Effect.promise(() => recordCount(kafka, original))).toBe(2)
        }),
      120_000
    )

    it.live("fails with the reason when the dead-letter topic does not exist", () =>
      Effect.gen(function* () {
        const missing = uniqueTopic("dlq-replay-missing")
        const error = yield* Effect.flip(replay({ topic: missing }))
        expect(error).toMatchObject({ _tag: "DlqReplayError", message: `topic ${missing} does not exist` })
      })
    )
  })
}
