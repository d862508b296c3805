import { Dispatcher, Notifications, UserContacts } from "@notification-service/core"
import {
  type DecodedEvent,
  decodeJson,
  type NotificationId,
  type SendNotification,
  UserContactChanged
} from "@notification-service/domain"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { envelopeMessages, PermanentFailure, RetryableFailure, runConsumer } from "./Consumer.js"
import { KafkaClient } from "./Kafka.js"

const partitionsConsumedConcurrently = Config.integer("KAFKA_PARTITIONS_CONCURRENTLY").pipe(Config.withDefault(4))

const permanent = (error: { readonly _tag: string; readonly detail: string }) =>
  new PermanentFailure({ reason: error._tag, message: error.detail })

/**
 * `notification.requested` on the commands topic: the same send as `POST /notifications/send`
 * (template, variables, recipient and preferences checks, outbox event), so the monolith and other
 * services can send without HTTP. A request the API would answer 4xx is dead-lettered.
 */
export const CommandsConsumerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { config } = yield* KafkaClient
    const notifications = yield* Notifications
    yield* runConsumer({
      name: "commands",
      topic: config.topics.commands,
      partitionsConsumedConcurrently: yield* partitionsConsumedConcurrently,
      ...envelopeMessages,
      handle: (event: DecodedEvent) =>
        event.event_type !== "notification.requested"
          ? Effect.fail(
              new PermanentFailure({
                reason: "UnexpectedEventType",
                message: `${event.event_type} is not a command this service accepts`
              })
            )
          : notifications.send(event.payload as SendNotification).pipe(
              Effect.asVoid,
              Effect.catchTags({
                NotFound: (error) => Effect.fail(permanent(error)),
                Unprocessable: (error) => Effect.fail(permanent(error)),
                Conflict: (error) => Effect.fail(permanent(error)),
                SqlError: (error) => Effect.fail(new RetryableFailure({ message: error.message }))
              })
            )
    })
  })
)

/**
 * `notification.accepted` on the events topic: dispatch it at once. The dispatcher's claim makes a
 * redelivered event find nothing to do, so the provider is called outside any transaction.
 * Scheduled and requeued notifications are taken by the dispatch loop when due.
 */
export const DispatchConsumerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { config } = yield* KafkaClient
    const dispatcher = yield* Dispatcher
    yield* runConsumer({
      name: "dispatch",
      topic: config.topics.events,
      partitionsConsumedConcurrently: yield* partitionsConsumedConcurrently,
      transactional: false,
      ...envelopeMessages,
      handle: (event: DecodedEvent) =>
        event.event_type !== "notification.accepted"
          ? Effect.succeed("ignored" as const)
          : dispatcher.dispatch(event.aggregate_id as NotificationId).pipe(
              Effect.asVoid,
              Effect.mapError((error) => new RetryableFailure({ message: error.message }))
            )
    })
  })
)

const decodeUserEvent = decodeJson(UserContactChanged, "a user event")

/**
 * `identity.users`: keeps the local `user_contacts` projection (used when a send names no
 * recipient). Out-of-order updates are ignored by version; the service never reads identity's tables.
 */
export const IdentityConsumerLive = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { config } = yield* KafkaClient
    const contacts = yield* UserContacts
    yield* runConsumer({
      name: "identity",
      topic: config.topics.identity,
      partitionsConsumedConcurrently: yield* partitionsConsumedConcurrently,
      decode: decodeUserEvent,
      identify: (event) => ({ eventId: event.event_id, correlationId: event.event_id }),
      handle: (event) =>
        contacts.apply(event).pipe(
          Effect.asVoid,
          Effect.mapError((error) => new RetryableFailure({ message: error.message }))
        )
    })
  })
)
