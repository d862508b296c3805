import type { Channel, Priority, UserPreference } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"
import { quietUntil } from "./QuietHours.js"

/**
 * What a user's preferences say about delivering a notification at a given instant.
 *
 * The rule: a channel the user disabled is never used — not even for `priority: high`, because
 * turning a channel off is the user's explicit choice (and often a legal one). Quiet hours are
 * softer: `high` (security and payment alerts) goes out during them; anything else waits until
 * they end. A notification scheduled for later is judged at its scheduled time.
 */
export type Decision =
  | { readonly _tag: "Send" }
  | { readonly _tag: "Suppress"; readonly reason: string }
  | { readonly _tag: "Defer"; readonly until: DateTime.Utc; readonly reason: string }

const enabled = (preference: UserPreference, channel: Channel): boolean =>
  channel === "email" ? preference.email_enabled : channel === "sms" ? preference.sms_enabled : preference.push_enabled

export const decide = (
  notification: { readonly channel: Channel; readonly priority: Priority },
  preference: UserPreference,
  at: DateTime.Utc
): Decision => {
  if (!enabled(preference, notification.channel)) {
    return { _tag: "Suppress", reason: `The user has turned off ${notification.channel} notifications.` }
  }
  if (
    notification.priority === "high" ||
    preference.quiet_hours_start === null ||
    preference.quiet_hours_end === null
  ) {
    return { _tag: "Send" }
  }
  return Option.match(
    quietUntil(at, {
      start: preference.quiet_hours_start,
      end: preference.quiet_hours_end,
      timeZone: preference.timezone
    }),
    {
      onNone: (): Decision => ({ _tag: "Send" }),
      onSome: (until): Decision => ({
        _tag: "Defer",
        until,
        reason: `Quiet hours (${preference.quiet_hours_start}-${preference.quiet_hours_end} ${preference.timezone}) until ${DateTime.formatIso(until)}.`
      })
    }
  )
}
