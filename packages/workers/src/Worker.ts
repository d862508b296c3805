import { NodeHttpClient } from "@effect/platform-node"
import {
  DatabaseLive,
  Dispatcher,
  DispatchLoopLive,
  DispatchSignal,
  HttpConfig,
  LoggingLive,
  NotificationRepo,
  Notifications,
  TelemetryLive,
  UserContacts
} from "@notification-service/core"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { CommandsConsumerLive, DispatchConsumerLive, IdentityConsumerLive } from "./Consumers.js"
import { WorkerHealthLive } from "./Health.js"
import { ProducerLive } from "./Kafka.js"
import { OutboxRelayLive } from "./OutboxRelay.js"

/** The worker always runs the dispatch loop (scheduled and requeued work), whatever the server does. */
const DueWorkLive = Layer.unwrapEffect(
  Effect.map(HttpConfig, (http) =>
    DispatchLoopLive({ drainTimeout: http.shutdownGrace, always: true, freshPendingGrace: Duration.seconds(30) })
  )
)

/**
 * Everything the worker runs, over the services it shares with the server. Closing the scope stops
 * the consumers (in-flight records finish and commit), the loop and the relay, then the producer
 * flushes and disconnects, then the pool closes.
 */
export const WorkersLive = Layer.mergeAll(
  OutboxRelayLive,
  CommandsConsumerLive,
  DispatchConsumerLive,
  IdentityConsumerLive,
  DueWorkLive
)

export const WorkerServicesLive = Layer.mergeAll(
  Notifications.Default,
  Dispatcher.Default,
  NotificationRepo.Default,
  UserContacts.Default
).pipe(
  Layer.provideMerge(DispatchSignal.Default),
  Layer.provideMerge(ProducerLive),
  Layer.provide(NodeHttpClient.layerUndici)
)

export const WorkerLive = Layer.mergeAll(WorkersLive, WorkerHealthLive).pipe(
  Layer.provide(WorkerServicesLive),
  Layer.provide(DatabaseLive),
  Layer.provide(TelemetryLive),
  Layer.provide(LoggingLive)
)
