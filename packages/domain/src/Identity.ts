import * as Schema from "effect/Schema"
import { UserId } from "./Ids.js"
import { DeviceToken, Email, PhoneE164 } from "./Notification.js"
import { canonicalTimeZone, TimeZone } from "./Preference.js"

/**
 * Identity's user events (topic `identity.users`), as far as this service cares: the contact
 * details it needs to reach a user. The service never reads identity's tables; it keeps a local
 * projection of these events instead.
 *
 * Semantics of the contract:
 * - `user.created` and `user.updated` carry a **full snapshot** of the user's current contact
 *   details: a field that is absent means "none" (null, or no device tokens), never "unchanged".
 *   Partial updates would make the projection depend on seeing every event in order; snapshots
 *   only need the newest one.
 * - `user.deleted` erases every contact detail (GDPR). Whatever else it carries is ignored, so a
 *   deletion is never refused over a malformed leftover field.
 * - `version` is identity's per-user counter, increasing with every change. An event whose
 *   version is not above the stored one is stale (reordered or redelivered) and changes nothing.
 */

/** Identity's per-user change counter. */
export const UserVersion = Schema.Int.pipe(
  Schema.positive(),
  Schema.annotations({
    title: "UserVersion",
    description: "Identity's per-user version, increasing with every change to the user."
  })
)

/** A BCP 47 tag such as `en-GB`, kept as identity sends it: templates choose by it, not us. */
export const Locale = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(35),
  Schema.annotations({ examples: ["en-GB"] })
)

/** Device tokens, oldest registration first: the last one is the device used most recently. */
export const DeviceTokens = Schema.Array(DeviceToken).pipe(
  Schema.maxItems(100),
  Schema.annotations({ description: "Push device tokens, oldest first; the last is the most recent." })
)

const IsoUtcTimestamp = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, {
    message: () => "must be an ISO 8601 UTC timestamp such as 2026-11-23T12:00:00.000Z"
  })
)

const eventFields = {
  event_id: Schema.UUID,
  user_id: UserId,
  version: UserVersion,
  occurred_at: Schema.compose(IsoUtcTimestamp, Schema.DateTimeUtc).annotations({
    description: "When the change happened at identity (ISO 8601 UTC)."
  })
}

/** `user.created` / `user.updated`: the user's contact details as they are now. */
export const UserContactSnapshot = Schema.Struct({
  ...eventFields,
  event_type: Schema.Literal("user.created", "user.updated"),
  email: Schema.optional(Schema.NullOr(Email)),
  phone: Schema.optional(Schema.NullOr(PhoneE164)),
  device_tokens: Schema.optional(DeviceTokens),
  locale: Schema.optional(Schema.NullOr(Locale)),
  timezone: Schema.optional(Schema.NullOr(TimeZone))
}).annotations({
  identifier: "UserContactSnapshot",
  description: "A user's full current contact details; an absent field means none."
})
export type UserContactSnapshot = typeof UserContactSnapshot.Type

/** `user.deleted`: the contact details are erased; only the version is kept. */
export const UserDeleted = Schema.Struct({
  ...eventFields,
  event_type: Schema.Literal("user.deleted")
}).annotations({
  identifier: "UserDeleted",
  description: "The user is gone: erase their contact details (other fields are ignored)."
})
export type UserDeleted = typeof UserDeleted.Type

/** The value of a record on `identity.users`. */
export const UserContactChanged = Schema.Union(UserContactSnapshot, UserDeleted).annotations({
  identifier: "UserContactChanged"
})
export type UserContactChanged = typeof UserContactChanged.Type

/** What the projection stores for a user. */
export const ContactDetails = Schema.Struct({
  email: Schema.NullOr(Email),
  phone: Schema.NullOr(PhoneE164),
  device_tokens: DeviceTokens,
  locale: Schema.NullOr(Locale),
  timezone: Schema.NullOr(TimeZone)
})
export type ContactDetails = typeof ContactDetails.Type

export const noContactDetails: ContactDetails = {
  email: null,
  phone: null,
  device_tokens: [],
  locale: null,
  timezone: null
}

/** The details an event leaves stored: its snapshot (absent = none), or nothing once deleted. */
export const contactDetailsOf = (event: UserContactChanged): ContactDetails => {
  if (event.event_type === "user.deleted") return noContactDetails
  const timezone = event.timezone ?? null
  return {
    email: event.email ?? null,
    phone: event.phone ?? null,
    device_tokens: event.device_tokens ?? [],
    locale: event.locale ?? null,
    // Aliases (`US/Pacific`) and odd casing are valid zones; store one spelling per zone.
    timezone: timezone === null ? null : (canonicalTimeZone(timezone) ?? timezone)
  }
}

/** A user's contact details as last projected from identity's events. */
export class UserContact extends Schema.Class<UserContact>("UserContact")({
  user_id: UserId,
  ...ContactDetails.fields,
  version: UserVersion,
  updated_at: Schema.DateTimeUtc.annotations({ description: "When this service last applied a change." })
}) {}
