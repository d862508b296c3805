import {
  type ConsumerConfig,
  type IHeaders,
  Kafka,
  type KafkaMessage,
  logLevel,
  type Message,
  Partitioners,
  type RecordMetadata
} from "kafkajs"
import { inject } from "vitest"
import { type KafkaDiscovery, type KafkaFound, type KafkaUnavailable, startKafka } from "./kafkaSetup.js"

export type { KafkaFound, KafkaUnavailable } from "./kafkaSetup.js"

/** A broker that answered, and whether it is librdkafka's mock cluster. */
export interface KafkaBroker extends KafkaFound {
  /**
   * The mock has no idempotent or transactional producer and no CreateTopics (topics are
   * auto-created with 4 partitions), and every consumer group's first join waits 3 s.
   */
  readonly mock: boolean
}

/** Set by `.ci/run`: there, a missing broker is a failure, never a skip. */
export const kafkaRequired = (): boolean => process.env.CI_REQUIRE_KAFKA === "1"

const discover = async (): Promise<KafkaBroker | KafkaUnavailable> => {
  // Provided when globalSetup started one broker for the whole run; `undefined` at runtime otherwise.
  const provided: KafkaDiscovery | undefined = inject("kafka")
  // Started here, a mock is killed when this process exits and a container is removed by
  // testcontainers' reaper once this process is gone, hence no `stop`.
  const found = provided ?? (await startKafka()).kafka
  if ("skip" in found) {
    if (kafkaRequired()) throw new Error(`CI_REQUIRE_KAFKA=1 but ${found.skip}`)
    console.log(`[tests] Kafka tests skipped: ${found.skip}`)
    return found
  }
  // Also tells the mock apart when it comes through KAFKA_BROKERS (CI). A configured broker that
  // is down fails here, at once and by name, rather than after kafkajs's retries in every test.
  const admin = new Kafka({
    clientId: "ns-tests-probe",
    brokers: [...found.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { retries: 2 }
  }).admin()
  try {
    await admin.connect()
    const { clusterId } = await admin.describeCluster()
    return { ...found, mock: clusterId.startsWith("mockCluster") }
  } catch (error) {
    throw new Error(
      `Kafka from ${found.kind} does not answer: ${error instanceof Error ? error.message : String(error)}`
    )
  } finally {
    await admin.disconnect()
  }
}

let discovered: Promise<KafkaBroker | KafkaUnavailable> | undefined

/**
 * The broker for this test process, found once: what globalSetup provided, else `KAFKA_BROKERS`, a
 * testcontainers Kafka, or a librdkafka mock cluster started here (stopped when the process exits),
 * else `{ skip }` with the reason. Rejects instead of skipping when `CI_REQUIRE_KAFKA=1`, and when
 * the broker found does not answer.
 */
export const kafkaBrokers = (): Promise<KafkaBroker | KafkaUnavailable> => {
  discovered ??= discover()
  return discovered
}

/**
 * A kafkajs client for tests. Quiet (set `KAFKAJS_LOG_LEVEL=debug` to see its logs); short retries
 * because the mock answers a first produce to an auto-created topic with LEADER_NOT_AVAILABLE.
 */
export const makeKafka = (brokers: ReadonlyArray<string>, clientId = "ns-tests"): Kafka =>
  new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 8 }
  })

/**
 * Consumer settings for tests. A member that joins a group right after another left waits about
 * the session timeout minus 1 s on the mock (up to twice that when the mock missed the leave), so
 * the session timeout is as short as the broker allows: real brokers refuse less than 6 s
 * (group.min.session.timeout.ms); the mock needs more than its 3 s initial rebalance delay, or its
 * members expire while they wait. The short fetch wait makes disconnects quick.
 */
export const testConsumerConfig = (broker: KafkaBroker, groupId: string): ConsumerConfig => ({
  groupId,
  sessionTimeout: broker.mock ? 5_000 : 6_000,
  heartbeatInterval: 1_000,
  maxWaitTimeInMs: 500
})

let sequence = 0
const unique = (prefix: string): string =>
  `${prefix.replace(/[^\w.-]/g, "-")}.${process.pid}.${Date.now().toString(36)}.${sequence++}`

/** A topic name no other test or earlier run uses (topics are auto-created on first use). */
export const uniqueTopic = (prefix: string): string => unique(prefix)

/** A consumer group id of its own, so that no committed offsets or members carry over. */
export const uniqueGroup = (prefix: string): string => unique(prefix)

/** Sends `messages` (acks from all replicas) and disconnects. */
export const produce = async (
  kafka: Kafka,
  topic: string,
  messages: ReadonlyArray<Message>
): Promise<ReadonlyArray<RecordMetadata>> => {
  // The Java client's partitioner, so that keys land where the service's producers put them.
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  try {
    return await producer.send({ topic, acks: -1, messages: [...messages] })
  } finally {
    await producer.disconnect()
  }
}

/** A consumed record with key, value and headers decoded as UTF-8. */
export interface ConsumedMessage {
  readonly topic: string
  readonly partition: number
  readonly offset: string
  readonly timestamp: string
  readonly key: string | null
  readonly value: string | null
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string>>>
}

const decodeHeaders = (headers: IHeaders | undefined): Record<string, string | ReadonlyArray<string>> => {
  const decoded: Record<string, string | ReadonlyArray<string>> = {}
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue
    decoded[name] = Array.isArray(value) ? value.map((item) => item.toString()) : value.toString()
  }
  return decoded
}

/** Decodes what kafkajs hands to `eachMessage`, for assertions. */
export const toConsumedMessage = (topic: string, partition: number, message: KafkaMessage): ConsumedMessage => ({
  topic,
  partition,
  offset: message.offset,
  timestamp: message.timestamp,
  key: message.key?.toString() ?? null,
  value: message.value?.toString() ?? null,
  headers: decodeHeaders(message.headers)
})

/**
 * Reads `topic` from the beginning (in a consumer group of its own) until `predicate` holds for
 * the messages seen so far, in arrival order (per-partition order is Kafka's; there is none across
 * partitions). Rejects after `timeoutMs` with what it saw.
 */
export const consumeUntil = async (
  kafka: Kafka,
  topic: string,
  predicate: (messages: ReadonlyArray<ConsumedMessage>) => boolean,
  timeoutMs = 20_000
): Promise<ReadonlyArray<ConsumedMessage>> => {
  const seen: Array<ConsumedMessage> = []
  // A group of its own: no committed offsets, no rejoin, so the broker's defaults suit everywhere.
  const consumer = kafka.consumer({ groupId: uniqueGroup(`consume-until.${topic}`), maxWaitTimeInMs: 500 })
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    // A snapshot: more messages may arrive between the predicate holding and the disconnect.
    return await new Promise<ReadonlyArray<ConsumedMessage>>((resolve, reject) => {
      timer = setTimeout(() => {
        const tail = seen
          .slice(-5)
          .map((m) => `${m.partition}@${m.offset} ${m.key}=${m.value}`)
          .join("; ")
        reject(new Error(`consumeUntil(${topic}): not satisfied after ${timeoutMs} ms, ${seen.length} seen (${tail})`))
      }, timeoutMs)
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (!payload.restart) reject(payload.error)
      })
      const start = async () => {
        await consumer.connect()
        await consumer.subscribe({ topic, fromBeginning: true })
        await consumer.run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            seen.push(toConsumedMessage(topic, partition, message))
            try {
              if (predicate(seen)) resolve([...seen])
            } catch (error) {
              reject(error)
            }
          }
        })
      }
      start().catch(reject)
    })
  } finally {
    clearTimeout(timer)
    await consumer.disconnect()
  }
}

/** A `notification.requested` command as the monolith or another service would publish it. */
export const commandRecord = (eventId: string, userId: number, payload: Record<string, unknown>): Message => ({
  key: String(userId),
  value: JSON.stringify({
    event_id: eventId,
    event_type: "notification.requested",
    aggregate_id: eventId,
    user_id: userId,
    correlation_id: eventId,
    causation_id: null,
    payload: { user_id: userId, ...payload },
    metadata: {},
    timestamp: new Date().toISOString(),
    version: 1
  }),
  headers: { event_type: "notification.requested", event_id: eventId, "content-type": "application/json" }
})
