import type { Kafka } from "kafkajs"
import { describe, expect, it } from "vitest"
import {
  type ConsumedMessage,
  consumeUntil,
  type KafkaBroker,
  kafkaBrokers,
  makeKafka,
  produce,
  testConsumerConfig,
  toConsumedMessage,
  uniqueGroup,
  uniqueTopic
} from "./support/kafka.js"

// Found before collection so that a skip reason is printed once; under CI_REQUIRE_KAFKA=1 this
// rejects instead, failing the file rather than skipping it.
const broker = await kafkaBrokers()

/**
 * Runs one member of `groupId` over `topic`, committing each offset by hand after handling it,
 * until `enough` holds, then for `settleMs` more (so that anything that should not arrive gets a
 * chance to), and leaves the group.
 */
const readAndCommit = async (
  kafka: Kafka,
  found: KafkaBroker,
  groupId: string,
  topic: string,
  enough: (messages: ReadonlyArray<ConsumedMessage>) => boolean,
  settleMs: number
): Promise<ReadonlyArray<ConsumedMessage>> => {
  const consumer = kafka.consumer(testConsumerConfig(found, groupId))
  const seen: Array<ConsumedMessage> = []
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`group ${groupId}: ${seen.length} message(s) after 30 s`)), 30_000)
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ topic, partition, message }) => {
            seen.push(toConsumedMessage(topic, partition, message))
            await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(message.offset) + 1n) }])
            if (enough(seen)) resolve()
          }
        })
        .catch(reject)
    })
    await new Promise((resolve) => setTimeout(resolve, settleMs))
    return [...seen]
  } finally {
    clearTimeout(timer)
    await consumer.disconnect()
  }
}

const KEYS = ["user-a", "user-b", "user-c", "user-d", "user-e"]

describe(`Kafka test support (${"skip" in broker ? "no broker" : broker.kind})`, () => {
  it("keyed messages with headers reach a consumer group in per-key order; committed offsets hold", async (ctx) => {
    if ("skip" in broker) return ctx.skip(broker.skip)
    const kafka = makeKafka(broker.brokers, "ns-tests-kafka-smoke")
    const topic = uniqueTopic("smoke")
    const groupId = uniqueGroup("smoke")

    const sent = Array.from({ length: 20 }, (_, index) => {
      const key = KEYS[index % KEYS.length] ?? "user-a"
      const seq = Math.floor(index / KEYS.length)
      return {
        key,
        value: JSON.stringify({ key, seq }),
        headers: { "event-type": "smoke.v1", "correlation-id": `corr-${index}`, via: ["first", "second"] }
      }
    })
    // One by one, so that each key's sequence is also the log order within its partition.
    for (const message of sent) await produce(kafka, topic, [message])

    const first = await readAndCommit(kafka, broker, groupId, topic, (seen) => seen.length >= 20, 500)
    expect(first).toHaveLength(20)
    expect(new Set(first.map((m) => `${m.partition}@${m.offset}`)).size).toBe(20)
    for (const message of first) {
      const { key, seq } = JSON.parse(message.value ?? "null") as { key: string; seq: number }
      expect(message.key).toBe(key)
      const index = seq * KEYS.length + KEYS.indexOf(key)
      expect(message.headers).toEqual({
        "event-type": "smoke.v1",
        "correlation-id": `corr-${index}`,
        via: ["first", "second"]
      })
    }
    for (const key of KEYS) {
      const sequence = first
        .filter((m) => m.key === key)
        .map((m) => (JSON.parse(m.value ?? "null") as { seq: number }).seq)
      expect(sequence, `order of ${key}`).toEqual([0, 1, 2, 3])
    }
    // One key, one partition: that is what per-key order rests on.
    for (const key of KEYS) expect(new Set(first.filter((m) => m.key === key).map((m) => m.partition)).size).toBe(1)

    const admin = kafka.admin()
    await admin.connect()
    try {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
      const total = (committed?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)
      expect(total).toBe(20)
    } finally {
      await admin.disconnect()
    }

    // The group's next member starts at the committed offsets: it gets only what came after.
    await produce(kafka, topic, [{ key: "after", value: "sentinel", headers: { "event-type": "smoke.v1" } }])
    const second = await readAndCommit(
      kafka,
      broker,
      groupId,
      topic,
      (seen) => seen.some((m) => m.key === "after"),
      1_000
    )
    expect(second.map((m) => [m.key, m.value])).toEqual([["after", "sentinel"]])

    // consumeUntil reads from the beginning in a group of its own, unaffected by the one above.
    const all = await consumeUntil(kafka, topic, (seen) => seen.length >= 21)
    expect(all.map((m) => m.value).sort()).toEqual([...sent.map((m) => m.value), "sentinel"].sort())
    expect(all.find((m) => m.key === "after")?.headers).toEqual({ "event-type": "smoke.v1" })
  }, 120_000)
})
