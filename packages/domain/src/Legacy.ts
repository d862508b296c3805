import * as Schema from "effect/Schema"
import { Channel } from "./Channel.js"
import { UserId } from "./Ids.js"
import { NotificationStatus } from "./NotificationStatus.js"
import { TemplateVariable } from "./Template.js"

/**
 * The monolith's rows in the service's terms, after the mapping rules of MIGRATION.md: what the
 * backfill copies and the bridge sends to `/internal/v1/legacy`. Timestamps stay ISO 8601 strings
 * so that the legacy microseconds survive the trip.
 */
const LegacyId = Schema.Int.pipe(Schema.positive()).annotations({ description: "The monolith's row id." })
const Timestamp = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/, {
    message: () => "must be an ISO 8601 timestamp with an offset"
  })
)
/** See `positionOf` in core's legacy mapping: writes older than the stored position are ignored. */
export const LegacyPosition = Schema.Int.pipe(Schema.nonNegative()).annotations({
  description:
    "The id of the last monolith change (notifications_legacy_changes) this row reflects, 0 if none: a write older than what the service holds is ignored."
})
const TimeOfDay = Schema.String.pipe(
  Schema.pattern(/^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$/, { message: () => "must be a time of day (HH:MM[:SS])" })
)

export const LegacyTemplate = Schema.Struct({
  legacy_id: LegacyId,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100)),
  type: Channel,
  subject: Schema.NullOr(Schema.String.pipe(Schema.maxLength(998))),
  body: Schema.String.pipe(Schema.maxLength(100_000)),
  variables: Schema.Array(TemplateVariable),
  created_at: Timestamp,
  updated_at: Timestamp,
  legacy_position: LegacyPosition
}).annotations({ identifier: "LegacyTemplate" })
export type LegacyTemplate = typeof LegacyTemplate.Type

export const LegacyNotification = Schema.Struct({
  legacy_id: LegacyId,
  user_id: UserId,
  template_legacy_id: Schema.NullOr(LegacyId),
  channel: Channel,
  status: NotificationStatus,
  status_reason: Schema.NullOr(Schema.String),
  sent_at: Schema.NullOr(Timestamp),
  error_message: Schema.NullOr(Schema.String),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  legacy_position: LegacyPosition
}).annotations({ identifier: "LegacyNotification" })
export type LegacyNotification = typeof LegacyNotification.Type

export const LegacyPreference = Schema.Struct({
  legacy_id: LegacyId,
  user_id: UserId,
  email_enabled: Schema.Boolean,
  sms_enabled: Schema.Boolean,
  push_enabled: Schema.Boolean,
  quiet_hours_start: Schema.NullOr(TimeOfDay),
  quiet_hours_end: Schema.NullOr(TimeOfDay),
  timezone: Schema.String,
  updated_at: Timestamp,
  legacy_position: LegacyPosition
}).annotations({ identifier: "LegacyPreference" })
export type LegacyPreference = typeof LegacyPreference.Type

/** The legacy `notifications_notificationlog.status` CHECK set. */
export const LegacyLogStatus = Schema.Literal("pending", "sent", "failed", "bounced")
export type LegacyLogStatus = typeof LegacyLogStatus.Type

/**
 * Service status -> legacy status, for the reverse direction (the rollback window). A `pending`
 * legacy log was in flight in the monolith: it comes over as `sending` with no lease, so no
 * dispatcher of the service ever sends it, and goes back as `pending`.
 */
export const toLegacyStatus: { readonly [S in NotificationStatus]: LegacyLogStatus } = {
  pending: "pending",
  scheduled: "pending",
  sending: "pending",
  sent: "sent",
  delivered: "sent",
  failed: "failed",
  suppressed: "failed",
  cancelled: "failed",
  bounced: "bounced"
}

/** Legacy status -> service status; a NULL legacy status (the CHECK allows it) is `failed`. */
export const fromLegacyStatus: { readonly [S in LegacyLogStatus]: NotificationStatus } = {
  pending: "sending",
  sent: "sent",
  failed: "failed",
  bounced: "bounced"
}
export const missingLegacyStatus = { status: "failed", reason: "legacy_status_missing" } as const
