import { randomUUID } from "node:crypto"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Runtime from "effect/Runtime"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import type { Admin, Batch, IHeaders, KafkaMessage, Message } from "kafkajs"
import { KafkaClient, Producer } from "./Kafka.js"

/** Kafka refused something the replay needs; nothing after the failing batch was replayed. */
export class DlqReplayError extends Schema.TaggedError<DlqReplayError>()("DlqReplayError", {
  message: Schema.String
}) {}

/** Which dead letters to replay; every filter given must hold (none given: all of them). */
export interface DlqReplayFilter {
  /** The record's `event_type` header. */
  readonly eventType?: string | undefined
  /** The `dlq.exception.class` header, e.g. `UndecodableEvent`. */
  readonly exceptionClass?: string | undefined
  /** Dead-lettered at or after this instant (`dlq.failed_at`). */
  readonly since?: Date | undefined
  /** The record's key, as UTF-8. */
  readonly key?: string | undefined
}

export interface DlqReplayOptions extends DlqReplayFilter {
  /** The dead-letter topic to read, e.g. `notifications.commands.dlq`. */
  readonly topic: string
  /** Report what would be replayed, produce nothing. */
  readonly dryRun?: boolean | undefined
  /** Stop after this many records were replayed (or, dry, would have been). */
  readonly limit?: number | undefined
  /** Told about every record that matched the filter, once its batch is published. */
  readonly onRecord?: ((record: DlqReplayRecord) => Effect.Effect<void>) | undefined
}

/** One dead letter that matched the filter, and what became of it. */
export interface DlqReplayRecord {
  readonly partition: number
  readonly offset: string
  readonly key: string | null
  readonly eventType: string | null
  readonly exceptionClass: string | null
  readonly failedAt: string | null
  /** `dlq.original.topic`: where it is (or would be) published again. */
  readonly target: string | null
  /** The `dlq.replay_count` it is published with. */
  readonly replayCount: number
  readonly outcome: "replayed" | "would-replay" | "skipped"
  /** Why a record was skipped. */
  readonly reason?: string
}

/**
 * `matched` records passed the filter; each of them was `replayed` (never in a dry run) or
 * `skipped` because it cannot be replayed (no `dlq.original.topic` header, or one naming the
 * dead-letter topic itself). `scanned - matched` were left alone by the filter.
 */
export interface DlqReplaySummary {
  readonly topic: string
  readonly dryRun: boolean
  readonly scanned: number
  readonly matched: number
  readonly replayed: number
  readonly skipped: number
}

const DLQ_HEADER_PREFIX = "dlq."

const headerValue = (headers: IHeaders | undefined, name: string): string | null => {
  const value = headers?.[name]
  const first = Array.isArray(value) ? value[0] : value
  return first === undefined ? null : first.toString()
}

const nonNegativeInteger = (value: string | null): number | undefined =>
  value !== null && /^\d+$/.test(value) ? Number(value) : undefined

/** Whether a dead-letter record passes `filter`. */
export const matchesDlqFilter = (filter: DlqReplayFilter, message: KafkaMessage): boolean => {
  const headers = message.headers
  if (filter.eventType !== undefined && headerValue(headers, "event_type") !== filter.eventType) return false
  if (filter.exceptionClass !== undefined && headerValue(headers, "dlq.exception.class") !== filter.exceptionClass) {
    return false
  }
  if (filter.since !== undefined) {
    const failedAt = Date.parse(headerValue(headers, "dlq.failed_at") ?? "")
    // A record without a readable failure time cannot be shown to be recent enough.
    if (Number.isNaN(failedAt) || failedAt < filter.since.getTime()) return false
  }
  if (filter.key !== undefined && message.key?.toString("utf8") !== filter.key) return false
  return true
}

/**
 * The record as it is published again: original key, value and headers without the `dlq.*` ones,
 * plus `dlq.replayed_at` and `dlq.replay_count`. The consumer copies all headers into a dead
 * letter, so a replayed record that fails again carries its count back here and it grows.
 */
export const replayedMessage = (message: KafkaMessage, replayedAt: Date): Message => {
  const headers: IHeaders = {}
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined && !name.startsWith(DLQ_HEADER_PREFIX)) headers[name] = value
  }
  headers["dlq.replayed_at"] = replayedAt.toISOString()
  headers["dlq.replay_count"] = String(replayCount(message))
  const partition = nonNegativeInteger(headerValue(message.headers, "dlq.original.partition"))
  return {
    key: message.key,
    value: message.value,
    headers,
    // Back where it was: consumers keep per-partition state and order, and the producer that wrote
    // it may not have used this producer's partitioner. Partitions are never removed from a topic.
    ...(partition === undefined ? {} : { partition })
  }
}

const replayCount = (message: KafkaMessage): number =>
  (nonNegativeInteger(headerValue(message.headers, "dlq.replay_count")) ?? 0) + 1

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

const tryKafka = <A>(what: string, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: (cause) => new DlqReplayError({ message: `${what}: ${messageOf(cause)}` }) })

/** Per partition holding records, the high watermark now: the replay reads up to there and stops. */
const endOffsets = (admin: Admin, topic: string) =>
  Effect.gen(function* () {
    // Asked first because fetching offsets of a missing topic retries for a long while (and some
    // brokers create the topic instead).
    const topics = yield* tryKafka("cannot list topics", () => admin.listTopics())
    if (!topics.includes(topic)) return yield* new DlqReplayError({ message: `topic ${topic} does not exist` })
    const offsets = yield* tryKafka(`cannot fetch the offsets of ${topic}`, () => admin.fetchTopicOffsets(topic))
    return new Map(
      offsets
        .filter((partition) => BigInt(partition.high) > BigInt(partition.low))
        .map((partition) => [partition.partition, BigInt(partition.high)] as const)
    )
  })

/**
 * Reads the dead-letter topic `options.topic` from the beginning up to its end as of the start (so
 * that records dead-lettered meanwhile, replays failing again among them, are left for a later
 * run) and publishes every record that passes the filter to its `dlq.original.topic`, batch by
 * batch, `acks: -1`. Reads in a consumer group of its own that commits nothing, so it moves no
 * other reader and can run again; a dry run only reports.
 */
export const replayDeadLetters = (options: DlqReplayOptions) =>
  Effect.gen(function* () {
    const { kafka, config } = yield* KafkaClient
    const { producer, compression } = yield* Producer
    const dryRun = options.dryRun === true
    const counts = { scanned: 0, matched: 0, replayed: 0, skipped: 0 }
    const summary = (): DlqReplaySummary => ({ topic: options.topic, dryRun, ...counts })
    // Replayed plus, dry, would-be replayed: what `limit` counts.
    let taken = 0

    const admin = kafka.admin()
    yield* Effect.acquireRelease(
      tryKafka("cannot connect to Kafka", () => admin.connect()),
      () => Effect.promise(() => admin.disconnect())
    )
    const remaining = yield* endOffsets(admin, options.topic)
    if (remaining.size === 0 || options.limit === 0) return summary()

    const done = yield* Deferred.make<void, DlqReplayError>()
    let stopped = false
    const finish = (exit: Exit.Exit<void, DlqReplayError>) => {
      stopped = true
      Deferred.unsafeDone(done, exit)
    }
    const advance = (partition: number, lastOffset: string) => {
      const end = remaining.get(partition)
      if (stopped || end === undefined || BigInt(lastOffset) + 1n < end) return
      remaining.delete(partition)
      if (remaining.size === 0) finish(Exit.void)
    }

    // Nothing is committed, so a rebalance would start the partitions over from the beginning:
    // what was handled already is not published twice.
    const handled = new Map<number, bigint>()

    const handleBatch = (batch: Batch) =>
      Effect.gen(function* () {
        const end = remaining.get(batch.partition)
        if (end === undefined) return
        const from = handled.get(batch.partition) ?? 0n
        const outgoing = new Map<string, Array<Message>>()
        const records: Array<DlqReplayRecord> = []
        const local = { scanned: 0, matched: 0, replayed: 0, skipped: 0, taken: 0 }
        let limitReached = false
        const now = new Date()
        let next = from
        for (const message of batch.messages) {
          const offset = BigInt(message.offset)
          if (offset < from) continue
          if (offset >= end) break
          next = offset + 1n
          local.scanned++
          if (!matchesDlqFilter(options, message)) continue
          local.matched++
          const target = headerValue(message.headers, "dlq.original.topic")
          const record = {
            partition: batch.partition,
            offset: message.offset,
            key: message.key?.toString("utf8") ?? null,
            eventType: headerValue(message.headers, "event_type"),
            exceptionClass: headerValue(message.headers, "dlq.exception.class"),
            failedAt: headerValue(message.headers, "dlq.failed_at"),
            target,
            replayCount: replayCount(message)
          }
          if (target === null || target === "" || target === options.topic) {
            local.skipped++
            const reason =
              target === options.topic
                ? "dlq.original.topic names the dead-letter topic itself"
                : "no dlq.original.topic header"
            records.push({ ...record, outcome: "skipped", reason })
            continue
          }
          local.taken++
          if (dryRun) {
            records.push({ ...record, outcome: "would-replay" })
          } else {
            local.replayed++
            records.push({ ...record, outcome: "replayed" })
            const messages = outgoing.get(target) ?? []
            messages.push(replayedMessage(message, now))
            outgoing.set(target, messages)
          }
          if (options.limit !== undefined && taken + local.taken >= options.limit) {
            limitReached = true
            break
          }
        }
        if (outgoing.size > 0) {
          yield* tryKafka(
            `replaying ${local.replayed} record(s) from ${options.topic}[${batch.partition}] failed after ${counts.replayed} were replayed`,
            () =>
              producer.sendBatch({
                acks: -1,
                compression,
                topicMessages: [...outgoing].map(([topic, messages]) => ({ topic, messages }))
              })
          )
        }
        counts.scanned += local.scanned
        counts.matched += local.matched
        counts.replayed += local.replayed
        counts.skipped += local.skipped
        taken += local.taken
        handled.set(batch.partition, next)
        if (options.onRecord !== undefined) yield* Effect.forEach(records, options.onRecord, { discard: true })
        if (limitReached) finish(Exit.void)
        else advance(batch.partition, batch.lastOffset())
      })

    const runtime = yield* Effect.runtime<never>()
    const groupId = `${config.clientId}.dlq-replay.${randomUUID().slice(0, 8)}`
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500, allowAutoTopicCreation: false })
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart)
        finish(Exit.fail(new DlqReplayError({ message: `consumer crashed: ${payload.error.message}` })))
    })
    // Batches holding only transaction markers or aborted records never reach `eachBatch`, yet
    // they may be what ends a partition.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => advance(payload.partition, payload.lastOffset))
    yield* Effect.acquireRelease(
      tryKafka(`cannot read ${options.topic}`, async () => {
        await consumer.connect()
        await consumer.subscribe({ topic: options.topic, fromBeginning: true })
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch, heartbeat }) => {
            // Whatever arrives after the end, a failure or the limit stays where it is.
            if (stopped) return
            const exit = await Runtime.runPromiseExit(runtime)(handleBatch(batch))
            if (Exit.isFailure(exit)) finish(exit)
            else if (!stopped) await heartbeat()
          }
        })
      }),
      // Waits for a batch in flight; nothing was committed, so the group leaves no trace to reuse.
      () => Effect.promise(() => consumer.disconnect())
    )

    // Records that retention deleted before they were read never arrive: such a partition is done.
    const recheck = Effect.tryPromise(() => admin.fetchTopicOffsets(options.topic)).pipe(
      Effect.tap((offsets) =>
        Effect.sync(() => {
          for (const { partition, low } of offsets) {
            const end = remaining.get(partition)
            if (end !== undefined && BigInt(low) >= end) advance(partition, (end - 1n).toString())
          }
        })
      ),
      Effect.ignore
    )
    yield* Effect.forkScoped(Effect.repeat(recheck, Schedule.spaced("5 seconds")).pipe(Effect.delay("5 seconds")))

    yield* Deferred.await(done)
    return summary()
  }).pipe(
    Effect.scoped,
    Effect.withSpan("dlq replay", {
      attributes: { "messaging.source.name": options.topic, "dlq.dry_run": options.dryRun === true }
    })
  )

// ---------------------------------------------------------------------------------------------
// Command line (`npm run dlq:replay`)
// ---------------------------------------------------------------------------------------------

/** The command line could not be understood; the message says why. */
export class DlqReplayUsageError extends Schema.TaggedError<DlqReplayUsageError>()("DlqReplayUsageError", {
  message: Schema.String
}) {}

export type DlqReplayCommand =
  | { readonly _tag: "Help" }
  | {
      readonly _tag: "Replay"
      readonly options: Omit<DlqReplayOptions, "onRecord">
      /** Print one JSON document (summary and records) instead of text. */
      readonly json: boolean
    }

export const dlqReplayUsage = `usage: npm run dlq:replay -- --topic <dead-letter topic> [options]

Publishes the records of a dead-letter topic (as of now) back to the topic named in their
dlq.original.topic header, with their key, value and headers, the dlq.* headers replaced by
dlq.replayed_at and dlq.replay_count. Connects with the KAFKA_* settings (KAFKA_BROKERS, ...).

  --topic <name>             the dead-letter topic, e.g. notifications.commands.dlq (required)
  --event-type <type>        only records whose event_type header is <type>
  --exception-class <class>  only records whose dlq.exception.class header is <class>
  --since <ISO 8601 time>    only records dead-lettered at or after it (dlq.failed_at)
  --key <key>                only records with this key
  --limit <n>                replay at most n records (n >= 1)
  --dry-run                  print what would be replayed, produce nothing
  --json                     print one JSON document: the summary and every matched record
  -h, --help                 print this text

Exit status: 0 done, 1 Kafka or configuration failure, 2 bad arguments.`

const valueFlags = ["--topic", "--event-type", "--exception-class", "--since", "--key", "--limit"] as const
type ValueFlag = (typeof valueFlags)[number]
const isValueFlag = (flag: string): flag is ValueFlag => (valueFlags as ReadonlyArray<string>).includes(flag)

// A calendar date at least, so that `Date.parse`'s implementation-defined formats are not accepted.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/

/** Parses the arguments after `--`; flags take `--flag value` or `--flag=value`, each at most once. */
export const parseDlqReplayArgs = (
  args: ReadonlyArray<string>
): Either.Either<DlqReplayCommand, DlqReplayUsageError> => {
  const fail = (message: string) => Either.left(new DlqReplayUsageError({ message }))
  const values = new Map<ValueFlag, string>()
  const switches = new Set<string>()
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] ?? ""
    if (arg === "-h" || arg === "--help") return Either.right({ _tag: "Help" })
    const equals = arg.indexOf("=")
    const flag = arg.startsWith("--") && equals > 0 ? arg.slice(0, equals) : arg
    if (isValueFlag(flag)) {
      const value = flag === arg ? args[++index] : arg.slice(equals + 1)
      // `--key --dry-run` is a missing key rather than a key spelled like a flag.
      if (value === undefined || (flag === arg && value.startsWith("--"))) return fail(`${flag} needs a value`)
      if (values.has(flag)) return fail(`${flag} given more than once`)
      values.set(flag, value)
    } else if (arg === "--dry-run" || arg === "--json") {
      if (switches.has(arg)) return fail(`${arg} given more than once`)
      switches.add(arg)
    } else if (arg.startsWith("-")) {
      return fail(`unknown option ${flag}`)
    } else {
      return fail(`unexpected argument ${JSON.stringify(arg)}`)
    }
  }
  const topic = values.get("--topic")
  if (topic === undefined || topic.trim() === "") return fail("--topic is required")
  const since = values.get("--since")
  const sinceDate = since === undefined ? undefined : new Date(since)
  if (since !== undefined && (!ISO_8601.test(since) || Number.isNaN(sinceDate?.getTime()))) {
    return fail(`--since must be an ISO 8601 date or time, e.g. 2026-11-23T00:00:00Z (got ${JSON.stringify(since)})`)
  }
  const limit = values.get("--limit")
  if (limit !== undefined && !/^[1-9]\d*$/.test(limit)) {
    return fail(`--limit must be a whole number of at least 1 (got ${JSON.stringify(limit)})`)
  }
  for (const flag of ["--event-type", "--exception-class"] as const) {
    if (values.get(flag) === "") return fail(`${flag} needs a value`)
  }
  return Either.right({
    _tag: "Replay",
    json: switches.has("--json"),
    options: {
      topic,
      eventType: values.get("--event-type"),
      exceptionClass: values.get("--exception-class"),
      since: sinceDate,
      key: values.get("--key"),
      dryRun: switches.has("--dry-run"),
      limit: limit === undefined ? undefined : Number(limit)
    }
  })
}
