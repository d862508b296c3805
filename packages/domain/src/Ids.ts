import * as Schema from "effect/Schema"

/** Notification ids are UUIDs (v7 for rows this service creates, so they sort by creation time). */
export const NotificationId = Schema.UUID.annotations({
  examples: ["0192f1c2-7b7e-7cc3-9a51-3f1c2b9d4e10"]
}).pipe(
  Schema.brand("NotificationId"),
  Schema.annotations({ title: "NotificationId", description: "UUID of a notification (UUIDv7 for new rows)." })
)
export type NotificationId = typeof NotificationId.Type

export const TemplateId = Schema.UUID.annotations({
  examples: ["0192f1c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f"]
}).pipe(
  Schema.brand("TemplateId"),
  Schema.annotations({ title: "TemplateId", description: "UUID of a template (UUIDv7 for new rows)." })
)
export type TemplateId = typeof TemplateId.Type

/** The identity service's user id: the monolith's `auth_user.id`, a positive integer. */
export const UserId = Schema.Int.pipe(
  Schema.positive(),
  Schema.lessThanOrEqualTo(Number.MAX_SAFE_INTEGER),
  Schema.annotations({ examples: [42] }),
  Schema.brand("UserId"),
  Schema.annotations({ title: "UserId", description: "Identity user id (positive integer)." })
)
export type UserId = typeof UserId.Type

/** The same id as it appears in a URL path: plain decimal digits only (no `0x10`, `1e3`, ` 42`). */
export const UserIdFromString = Schema.compose(
  Schema.String.pipe(Schema.pattern(/^[1-9]\d{0,15}$/, { message: () => "must be a positive integer" })),
  Schema.compose(Schema.NumberFromString, UserId)
)
