import { KafkaConfig } from "@notification-service/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CompressionTypes, Kafka, type Producer as KafkaProducer, logLevel } from "kafkajs"

/** The kafkajs client for the configured brokers. */
export class KafkaClient extends Context.Tag("workers/KafkaClient")<
  KafkaClient,
  { readonly kafka: Kafka; readonly config: KafkaConfig }
>() {}

export const KafkaClientLive = Layer.effect(
  KafkaClient,
  Effect.gen(function* () {
    const config = yield* KafkaConfig
    const kafka = new Kafka({
      clientId: config.clientId,
      brokers: [...config.brokers],
      logLevel: logLevel.WARN,
      retry: { initialRetryTime: 300, retries: 8 }
    })
    return { kafka, config }
  })
)

export interface ConnectedProducer {
  readonly producer: KafkaProducer
  readonly compression: CompressionTypes
}

/**
 * One connected producer for the process: `acks: -1` on every send (see `send` callers),
 * idempotence by configuration, disconnected (buffers flushed) when the scope closes.
 */
export class Producer extends Context.Tag("workers/Producer")<Producer, ConnectedProducer>() {}

export const ProducerLive = Layer.scoped(
  Producer,
  Effect.gen(function* () {
    const { kafka, config } = yield* KafkaClient
    const producer = kafka.producer({
      idempotent: config.idempotentProducer,
      // Idempotence needs at most 5 in flight; ordering per partition without it needs 1.
      maxInFlightRequests: config.idempotentProducer ? 5 : 1,
      allowAutoTopicCreation: true
    })
    yield* Effect.acquireRelease(
      Effect.tryPromise(() => producer.connect()).pipe(Effect.tap(() => Effect.logInfo("kafka producer connected"))),
      () =>
        Effect.promise(() => producer.disconnect()).pipe(Effect.zipRight(Effect.logInfo("kafka producer disconnected")))
    )
    return {
      producer,
      compression: config.compression === "gzip" ? CompressionTypes.GZIP : CompressionTypes.None
    }
  })
).pipe(Layer.provideMerge(KafkaClientLive))
