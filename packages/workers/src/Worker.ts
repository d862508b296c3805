import { DatabaseLive, LoggingLive, TelemetryLive } from "@notification-service/core"
import * as Layer from "effect/Layer"
import { WorkerHealthLive } from "./Health.js"
import { ProducerLive } from "./Kafka.js"
import { OutboxRelayLive } from "./OutboxRelay.js"

/**
 * The worker process: the outbox relay (and, next, the consumers) over Kafka and the database,
 * with its own probes. Layers close in reverse: the relay stops, then the producer flushes and
 * disconnects, then the pool closes.
 */
export const WorkerLive = Layer.mergeAll(OutboxRelayLive, WorkerHealthLive).pipe(
  Layer.provide(ProducerLive),
  Layer.provide(DatabaseLive),
  Layer.provide(TelemetryLive),
  Layer.provide(LoggingLive)
)
