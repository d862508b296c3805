import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { Channel } from "./Channel.js"
import { NotificationId, TemplateId, UserId } from "./Ids.js"
import { SendNotification } from "./Notification.js"
import { NotificationStatus } from "./NotificationStatus.js"

/**
 * The event contract: one envelope for every event the service consumes or publishes, and one
 * payload schema per event type and version. Consumers reject a version they do not know (the
 * message goes to the dead-letter topic) rather than half-process it.
 */

const Reason = Schema.String.annotations({ description: "Why, in words for an operator." })

export const NotificationRequested = SendNotification.annotations({
  identifier: "NotificationRequestedV1",
  description: "A command: send this notification (the same body as `POST /api/v1/notifications/send`)."
})

const notificationRef = {
  notification_id: NotificationId,
  notification_type: Channel,
  status: NotificationStatus
}

export const NotificationAccepted = Schema.Struct({
  ...notificationRef,
  template_id: Schema.NullOr(TemplateId)
}).annotations({ identifier: "NotificationAcceptedV1" })

export const NotificationScheduled = Schema.Struct({
  ...notificationRef,
  template_id: Schema.optional(Schema.NullOr(TemplateId)),
  scheduled_at: Schema.String.annotations({ description: "ISO 8601 UTC: when it is due." }),
  reason: Schema.optional(Reason)
}).annotations({ identifier: "NotificationScheduledV1" })

export const NotificationSent = Schema.Struct({
  ...notificationRef,
  template_id: Schema.NullOr(TemplateId),
  attempts: Schema.Int
}).annotations({
  identifier: "NotificationSentV1",
  description: "Handed to a provider; `metadata.provider` and `metadata.message_id` say which and its id."
})

export const NotificationFailed = Schema.Struct({
  ...notificationRef,
  error: Schema.Struct({ code: Schema.String, message: Schema.String }),
  attempts: Schema.Int,
  retryable: Schema.Boolean
}).annotations({ identifier: "NotificationFailedV1" })

export const NotificationSuppressed = Schema.Struct({
  ...notificationRef,
  reason: Reason
}).annotations({ identifier: "NotificationSuppressedV1" })

const transitionFields = {
  notification_id: NotificationId,
  notification_type: Schema.optional(Channel),
  status: NotificationStatus,
  from: NotificationStatus
}

export const NotificationDelivered = Schema.Struct(transitionFields).annotations({
  identifier: "NotificationDeliveredV1"
})

export const NotificationBounced = Schema.Struct(transitionFields).annotations({
  identifier: "NotificationBouncedV1"
})

export const NotificationStatusChanged = Schema.Struct({
  ...transitionFields,
  reason: Schema.optional(Schema.NullOr(Reason)),
  retry_at: Schema.optional(Schema.String)
}).annotations({ identifier: "NotificationStatusChangedV1" })

/** Every event type with the payload schema of each version it has had. */
export const payloadSchemas = {
  "notification.requested": { 1: NotificationRequested },
  "notification.accepted": { 1: NotificationAccepted },
  "notification.scheduled": { 1: NotificationScheduled },
  "notification.sent": { 1: NotificationSent },
  "notification.failed": { 1: NotificationFailed },
  "notification.delivered": { 1: NotificationDelivered },
  "notification.bounced": { 1: NotificationBounced },
  "notification.suppressed": { 1: NotificationSuppressed },
  "notification.status_changed": { 1: NotificationStatusChanged }
} as const

export type EventType = keyof typeof payloadSchemas

export const EventType = Schema.Literal(
  ...(Object.keys(payloadSchemas) as [EventType, ...Array<EventType>])
).annotations({ identifier: "EventType" })

const IsoUtc = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, {
    message: () => "must be an ISO 8601 UTC timestamp such as 2026-11-23T12:00:00.000Z"
  })
)

/** The envelope, exactly these fields. `payload` is checked against `event_type` and `version`. */
export const EventEnvelope = Schema.Struct({
  event_id: Schema.UUID,
  event_type: EventType,
  aggregate_id: Schema.String.pipe(Schema.minLength(1)),
  user_id: UserId,
  correlation_id: Schema.String.pipe(Schema.minLength(1)),
  causation_id: Schema.NullOr(Schema.String),
  payload: Schema.Unknown,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  timestamp: IsoUtc,
  version: Schema.Int.pipe(Schema.positive())
}).annotations({ identifier: "EventEnvelope" })
export type EventEnvelope = typeof EventEnvelope.Type

/** Why a record cannot be processed, ever: it goes to the dead-letter topic. */
export class UndecodableEvent extends Schema.TaggedError<UndecodableEvent>()("UndecodableEvent", {
  message: Schema.String
}) {}

/** A record value as JSON matching `schema`; what it is not, in words, as the failure. */
export const decodeJson =
  <A, I>(schema: Schema.Schema<A, I>, what: string) =>
  (json: string): Either.Either<A, UndecodableEvent> => {
    let parsed: unknown
    try {
      parsed = JSON.parse(json)
    } catch (error) {
      return Either.left(new UndecodableEvent({ message: `not JSON: ${String(error)}` }))
    }
    return Schema.decodeUnknownEither(schema)(parsed).pipe(
      Either.mapLeft(
        (error) => new UndecodableEvent({ message: `not ${what}: ${ParseResult.TreeFormatter.formatErrorSync(error)}` })
      )
    )
  }

const payloadSchemaOf = (type: EventType, version: number): Schema.Schema.AnyNoContext | undefined => {
  const versions: Readonly<Record<number, Schema.Schema.AnyNoContext>> = payloadSchemas[type]
  return versions[version]
}

/** An envelope whose payload matched its type's schema at its version. */
export interface DecodedEvent<P = unknown> extends Omit<EventEnvelope, "payload"> {
  readonly payload: P
}

/**
 * Decodes a record's JSON value: the envelope, then the payload by type and version. An unknown
 * version is refused, never processed with a guess.
 */
export const decodeEvent = (json: string): Either.Either<DecodedEvent, UndecodableEvent> =>
  decodeJson(
    EventEnvelope,
    "an event envelope"
  )(json).pipe(
    Either.flatMap((envelope) => {
      const schema = payloadSchemaOf(envelope.event_type, envelope.version)
      if (schema === undefined) {
        return Either.left(
          new UndecodableEvent({
            message: `${envelope.event_type} version ${envelope.version} is not known to this service`
          })
        )
      }
      return Schema.decodeUnknownEither(schema)(envelope.payload).pipe(
        Either.map((payload): DecodedEvent => ({ ...envelope, payload })),
        Either.mapLeft(
          (error) =>
            new UndecodableEvent({
              message: `invalid ${envelope.event_type} v${envelope.version} payload: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
            })
        )
      )
    })
  )

/** Kafka header names on every record. */
export const EventHeaders = {
  eventType: "event_type",
  eventId: "event_id",
  contentType: "content-type",
  traceparent: "traceparent",
  tracestate: "tracestate",
  correlationId: "correlation_id"
} as const
