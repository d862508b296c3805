import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import {
  defaultPreference,
  type PreferenceInput,
  preferenceFields,
  UserId,
  UserPreference
} from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { decodeRows, IntFromPg } from "./Sql.js"

/** `time` columns read back as `HH:MM:SS`. */
const HourMinute = Schema.transform(Schema.String, Schema.String, {
  strict: true,
  decode: (time) => time.slice(0, 5),
  encode: (time) => time
})

/** The API's fields, as `pg` returns them: `bigint` as text, `time` as `HH:MM:SS`, `timestamptz` as `Date`. */
const PreferenceRow = Schema.Struct({
  ...UserPreference.fields,
  user_id: Schema.compose(IntFromPg, UserId),
  quiet_hours_start: Schema.NullOr(HourMinute),
  quiet_hours_end: Schema.NullOr(HourMinute),
  updated_at: Schema.DateTimeUtcFromDate
})

// The row schema has just validated every field; the class would validate them all again.
const toPreference = (rows: ReadonlyArray<unknown>) =>
  Effect.map(decodeRows(PreferenceRow)(rows), (decoded) =>
    decoded.map((row) => new UserPreference(row, { disableValidation: true }))
  )

export class Preferences extends Effect.Service<Preferences>()("core/Preferences", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql`user_id, email_enabled, sms_enabled, push_enabled, quiet_hours_start, quiet_hours_end, timezone, updated_at`

    /** Users who never stored preferences get the defaults: every channel on, no quiet hours, UTC. */
    const get = (userId: UserId): Effect.Effect<UserPreference, SqlError> =>
      sql`SELECT ${columns} FROM user_preferences WHERE user_id = ${userId}`.pipe(
        Effect.flatMap(toPreference),
        Effect.map((rows) => rows[0] ?? defaultPreference(userId)),
        Effect.withSpan("Preferences.get")
      )

    const put = (userId: UserId, input: PreferenceInput): Effect.Effect<UserPreference, SqlError> =>
      Effect.gen(function* () {
        const now = DateTime.toDateUtc(yield* DateTime.now)
        const fields = preferenceFields(input)
        const rows = yield* sql`
          INSERT INTO user_preferences (user_id, email_enabled, sms_enabled, push_enabled, quiet_hours_start,
            quiet_hours_end, timezone, created_at, updated_at)
          VALUES (${userId}, ${fields.email_enabled}, ${fields.sms_enabled}, ${fields.push_enabled},
            ${fields.quiet_hours_start}::time, ${fields.quiet_hours_end}::time, ${fields.timezone}, ${now}, ${now})
          ON CONFLICT (user_id) DO UPDATE SET
            email_enabled = EXCLUDED.email_enabled, sms_enabled = EXCLUDED.sms_enabled,
            push_enabled = EXCLUDED.push_enabled, quiet_hours_start = EXCLUDED.quiet_hours_start,
            quiet_hours_end = EXCLUDED.quiet_hours_end, timezone = EXCLUDED.timezone, updated_at = EXCLUDED.updated_at
          RETURNING ${columns}`
        const [stored] = yield* toPreference(rows)
        return stored as UserPreference
      }).pipe(Effect.withSpan("Preferences.put"))

    return { get, put } as const
  })
}) {}
