import * as Schema from "effect/Schema"
import { UserId } from "./Ids.js"

export const LocalTime = Schema.String.pipe(
  Schema.pattern(/^([01]\d|2[0-3]):[0-5]\d$/, { message: () => "must be a 24-hour time HH:MM" }),
  Schema.annotations({ examples: ["22:00"] })
)

/** Canonical IANA zone name, e.g. `Europe/London`; `UTC` is accepted too. */
export const canonicalTimeZone = (zone: string): string | undefined => {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(zone)) return undefined
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}

export const TimeZone = Schema.String.pipe(
  Schema.maxLength(64),
  Schema.filter((zone) => canonicalTimeZone(zone) !== undefined || "must be an IANA time zone such as Europe/London"),
  Schema.annotations({ examples: ["Europe/London"] })
)

const Enabled = Schema.Boolean.annotations({ default: true })

export const PreferenceInput = Schema.Struct({
  email_enabled: Schema.optional(Enabled),
  sms_enabled: Schema.optional(Enabled),
  push_enabled: Schema.optional(Enabled),
  quiet_hours_start: Schema.optional(Schema.NullOr(LocalTime)),
  quiet_hours_end: Schema.optional(Schema.NullOr(LocalTime)),
  timezone: Schema.optional(TimeZone.annotations({ default: "UTC" }))
}).pipe(
  Schema.filter((p) => {
    const start = p.quiet_hours_start ?? null
    const end = p.quiet_hours_end ?? null
    if ((start === null) !== (end === null)) {
      return {
        path: ["quiet_hours_end"],
        message: "quiet_hours_start and quiet_hours_end are set together or not at all"
      }
    }
    if (start !== null && start === end) {
      return { path: ["quiet_hours_end"], message: "quiet hours must not start and end at the same time" }
    }
    return true
  }),
  Schema.annotations({
    identifier: "PreferenceInput",
    description: "Replaces the user's preferences; omitted fields take their defaults.",
    examples: [
      {
        email_enabled: true,
        sms_enabled: false,
        push_enabled: true,
        quiet_hours_start: "22:00",
        quiet_hours_end: "07:00",
        timezone: "Europe/London"
      }
    ]
  })
)
export type PreferenceInput = typeof PreferenceInput.Type

export class UserPreference extends Schema.Class<UserPreference>("UserPreference")({
  user_id: UserId,
  email_enabled: Schema.Boolean,
  sms_enabled: Schema.Boolean,
  push_enabled: Schema.Boolean,
  quiet_hours_start: Schema.NullOr(LocalTime),
  quiet_hours_end: Schema.NullOr(LocalTime),
  timezone: Schema.String,
  updated_at: Schema.NullOr(Schema.DateTimeUtc).annotations({
    description: "null while the user has never stored preferences (the defaults apply)."
  })
}) {}

/** What a PUT stores: omitted fields take their defaults (PUT replaces the whole resource). */
export const preferenceFields = (input: PreferenceInput) => ({
  email_enabled: input.email_enabled ?? true,
  sms_enabled: input.sms_enabled ?? true,
  push_enabled: input.push_enabled ?? true,
  quiet_hours_start: input.quiet_hours_start ?? null,
  quiet_hours_end: input.quiet_hours_end ?? null,
  timezone: canonicalTimeZone(input.timezone ?? "UTC") ?? "UTC"
})

export const defaultPreference = (userId: UserId): UserPreference =>
  new UserPreference({
    user_id: userId,
    email_enabled: true,
    sms_enabled: true,
    push_enabled: true,
    quiet_hours_start: null,
    quiet_hours_end: null,
    timezone: "UTC",
    updated_at: null
  })
