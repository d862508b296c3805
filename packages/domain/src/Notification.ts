import * as Schema from "effect/Schema"
import { Channel, Priority } from "./Channel.js"
import { NotificationId, TemplateId, UserId } from "./Ids.js"
import { NotificationStatus } from "./NotificationStatus.js"
import { pageParams } from "./Pagination.js"
import { RenderedContent, TemplateName } from "./Template.js"

const jsonSize = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), "utf8")

/** A JSON object whose serialized size is capped, so one caller cannot bloat every row. */
const BoundedObject = (maxBytes: number, description: string) =>
  Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
    Schema.filter((value) => jsonSize(value) <= maxBytes || `must be at most ${maxBytes} bytes as JSON`),
    Schema.annotations({ description: `${description} At most ${maxBytes} bytes as JSON.` })
  )

export const Variables = BoundedObject(32_768, "Values for the template's variables.")
export const Metadata = BoundedObject(8_192, "Caller's data kept with the notification (not rendered).")

export const Email = Schema.String.pipe(
  Schema.maxLength(254),
  Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: () => "must be an email address" }),
  Schema.annotations({ examples: ["ada@example.com"] })
)

export const PhoneE164 = Schema.String.pipe(
  Schema.pattern(/^\+[1-9]\d{6,14}$/, { message: () => "must be an E.164 phone number such as +447700900123" }),
  Schema.annotations({ examples: ["+447700900123"] })
)

export const DeviceToken = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096))

export const Recipient = Schema.Struct({
  email: Schema.optional(Email),
  phone: Schema.optional(PhoneE164),
  device_token: Schema.optional(DeviceToken)
}).pipe(
  Schema.filter((r) =>
    r.email !== undefined || r.phone !== undefined || r.device_token !== undefined
      ? true
      : "must name at least one of email, phone, device_token"
  ),
  Schema.annotations({
    identifier: "Recipient",
    description: "Contact details for this notification, overriding the user's stored ones."
  })
)
export type Recipient = typeof Recipient.Type

/** Which recipient field holds the address a channel delivers to. */
export const recipientField: { readonly [C in Channel]: keyof Recipient } = {
  email: "email",
  sms: "phone",
  push: "device_token"
}

export const IdempotencyKey = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(255),
  Schema.pattern(/^[\x21-\x7e]+$/, { message: () => "must be printable ASCII without spaces" })
)

export const SendNotification = Schema.Struct({
  user_id: UserId,
  template_id: Schema.optional(TemplateId),
  template_name: Schema.optional(TemplateName),
  channel: Schema.optional(Channel),
  variables: Schema.optional(Variables),
  recipient: Schema.optional(Recipient),
  scheduled_at: Schema.optional(Schema.DateTimeUtc),
  priority: Schema.optional(Priority.annotations({ default: "normal" })),
  metadata: Schema.optional(Metadata)
}).pipe(
  Schema.filter((body) =>
    (body.template_id === undefined) === (body.template_name === undefined)
      ? { path: ["template_id"], message: "exactly one of template_id and template_name is required" }
      : true
  ),
  Schema.annotations({
    identifier: "SendNotification",
    examples: [
      {
        user_id: UserId.make(42),
        template_name: "payment_received",
        variables: { name: "Ada", amount: "€12.50" },
        priority: "high",
        metadata: { payment_id: "pay_123" }
      }
    ]
  })
)
export type SendNotification = typeof SendNotification.Type

export const SendHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(IdempotencyKey)
})

export class Notification extends Schema.Class<Notification>("Notification")({
  id: NotificationId,
  legacy_id: Schema.NullOr(Schema.Int).annotations({
    description:
      "The monolith's `notifications_notificationlog` id while the monolith is being migrated: set on rows copied from it and on rows synced back to it."
  }),
  user_id: UserId,
  template_id: Schema.NullOr(TemplateId),
  template_version: Schema.NullOr(Schema.Int),
  channel: Channel,
  status: NotificationStatus,
  priority: Priority,
  recipient: Schema.NullOr(Recipient),
  variables: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  status_reason: Schema.NullOr(Schema.String),
  error_message: Schema.NullOr(Schema.String),
  provider_message_id: Schema.NullOr(Schema.String),
  provider: Schema.NullOr(Schema.String).annotations({
    description: "The provider that accepted the message (e.g. `sendgrid`, `smtp`, `twilio`, `fcm`, `log`)."
  }),
  attempts: Schema.Int.annotations({ description: "Provider calls made for this notification." }),
  content: Schema.NullOr(RenderedContent).annotations({
    description: "What was (or is being) sent, rendered when the notification was dispatched."
  }),
  scheduled_at: Schema.NullOr(Schema.DateTimeUtc).annotations({
    description: "When it is due: the requested time, or the end of the user's quiet hours."
  }),
  sent_at: Schema.NullOr(Schema.DateTimeUtc),
  delivered_at: Schema.NullOr(Schema.DateTimeUtc),
  failed_at: Schema.NullOr(Schema.DateTimeUtc),
  created_at: Schema.DateTimeUtc,
  updated_at: Schema.DateTimeUtc
}) {}

export const UpdateStatus = Schema.Struct({
  status: NotificationStatus,
  error_message: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2000))),
  provider_message_id: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)))
}).annotations({
  identifier: "UpdateStatus",
  examples: [{ status: "delivered", provider_message_id: "SM1234567890" }]
})
export type UpdateStatus = typeof UpdateStatus.Type

export const ListNotificationsParams = Schema.Struct({
  ...pageParams,
  status: Schema.optional(NotificationStatus),
  channel: Schema.optional(Channel),
  from: Schema.optional(Schema.DateTimeUtc).annotations({ description: "Created at or after (ISO 8601)." }),
  to: Schema.optional(Schema.DateTimeUtc).annotations({ description: "Created before (ISO 8601)." })
}).pipe(
  Schema.filter((params) =>
    params.from !== undefined && params.to !== undefined && params.from.epochMillis > params.to.epochMillis
      ? { path: ["from"], message: "from must not be after to" }
      : true
  )
)
export type ListNotificationsParams = typeof ListNotificationsParams.Type
