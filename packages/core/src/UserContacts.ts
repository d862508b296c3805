import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import {
  type Channel,
  type ContactDetails,
  contactDetailsOf,
  UserContact,
  type UserContactChanged,
  UserId,
  UserVersion
} from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { decodeRows, IntFromPg } from "./Sql.js"

/** The columns as `pg` returns them: `bigint` as text, `jsonb` parsed, `timestamptz` as `Date`. */
const ContactRow = Schema.Struct({
  ...UserContact.fields,
  user_id: Schema.compose(IntFromPg, UserId),
  version: Schema.compose(IntFromPg, UserVersion),
  updated_at: Schema.DateTimeUtcFromDate
})

// The row schema has just validated every field; the class would validate them all again.
const toContacts = (rows: ReadonlyArray<unknown>) =>
  Effect.map(decodeRows(ContactRow)(rows), (decoded) =>
    decoded.map((row) => new UserContact(row, { disableValidation: true }))
  )

/**
 * Where a notification on `channel` goes when the request named no recipient. Push goes to the
 * most recently registered device only: one notification is one message to one address.
 */
export const recipientFor = (
  channel: Channel,
  contact: Pick<ContactDetails, "email" | "phone" | "device_tokens">
): Option.Option<string> => {
  switch (channel) {
    case "email":
      return Option.fromNullable(contact.email)
    case "sms":
      return Option.fromNullable(contact.phone)
    case "push":
      return Option.fromNullable(contact.device_tokens.at(-1))
  }
}

/**
 * The local projection of identity's user events (`user_contacts`). Each event is a full snapshot
 * and carries identity's per-user version, so applying one is a single conditional upsert: it wins
 * only over an older version. Reordered and redelivered events therefore need no bookkeeping, and
 * a deletion leaves a row with no details but its version, which keeps later stale updates out.
 */
export class UserContacts extends Effect.Service<UserContacts>()("core/UserContacts", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql`user_id, email, phone, device_tokens, locale, timezone, version, updated_at`

    /** `stale` when the stored version is the same or newer: nothing was changed. */
    const apply = (event: UserContactChanged): Effect.Effect<"applied" | "stale", SqlError> =>
      Effect.gen(function* () {
        const now = DateTime.toDateUtc(yield* DateTime.now)
        const details = contactDetailsOf(event)
        const rows = yield* sql`
          INSERT INTO user_contacts (user_id, email, phone, device_tokens, locale, timezone, version, updated_at)
          VALUES (${event.user_id}, ${details.email}, ${details.phone}, ${JSON.stringify(details.device_tokens)}::jsonb,
            ${details.locale}, ${details.timezone}, ${event.version}, ${now})
          ON CONFLICT (user_id) DO UPDATE SET
            email = EXCLUDED.email, phone = EXCLUDED.phone, device_tokens = EXCLUDED.device_tokens,
            locale = EXCLUDED.locale, timezone = EXCLUDED.timezone, version = EXCLUDED.version,
            updated_at = EXCLUDED.updated_at
          WHERE user_contacts.version < EXCLUDED.version
          RETURNING user_id`
        return rows.length > 0 ? "applied" : "stale"
      }).pipe(
        Effect.withSpan("UserContacts.apply", {
          attributes: { "user.id": event.user_id, "user.version": event.version, "event.type": event.event_type }
        })
      )

    /** None when no event about the user has arrived yet; a deleted user has a row with no details. */
    const get = (userId: UserId): Effect.Effect<Option.Option<UserContact>, SqlError> =>
      sql`SELECT ${columns} FROM user_contacts WHERE user_id = ${userId}`.pipe(
        Effect.flatMap(toContacts),
        Effect.map((rows) => Option.fromNullable(rows[0])),
        Effect.withSpan("UserContacts.get")
      )

    return { apply, get } as const
  })
}) {}
