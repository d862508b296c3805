import { SqlClient } from "@effect/sql"
import * as Effect from "effect/Effect"

/**
 * Delivery: template syntax and HTML bodies, and what the dispatcher needs on a notification —
 * when it is due, a lease while it is being sent, attempts, the provider used and what was sent.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  // Templates written before this migration used `{key}` placeholders, so they keep that syntax;
  // new ones default to Liquid.
  yield* sql`ALTER TABLE templates ADD COLUMN syntax text NOT NULL DEFAULT 'legacy' CHECK (syntax IN ('liquid', 'legacy'))`
  yield* sql`ALTER TABLE templates ALTER COLUMN syntax SET DEFAULT 'liquid'`
  yield* sql`ALTER TABLE templates ADD COLUMN html_body text CHECK (html_body IS NULL OR type = 'email')`

  yield* sql`ALTER TABLE notifications ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0)`
  yield* sql`ALTER TABLE notifications ADD COLUMN provider text`
  yield* sql`ALTER TABLE notifications ADD COLUMN content jsonb`
  // When a pending or scheduled notification may next be dispatched: its scheduled time, the end
  // of the user's quiet hours, or a retry after a provider asked to wait.
  yield* sql`ALTER TABLE notifications ADD COLUMN due_at timestamptz`
  // A dispatcher that claims a notification holds it until this instant; a crashed one's claim lapses.
  yield* sql`ALTER TABLE notifications ADD COLUMN lease_expires_at timestamptz`
  yield* sql`
    UPDATE notifications SET due_at = coalesce(scheduled_at, created_at)
    WHERE status IN ('pending', 'scheduled')`
  yield* sql`
    ALTER TABLE notifications ADD CONSTRAINT notifications_due_check
      CHECK (status NOT IN ('pending', 'scheduled') OR due_at IS NOT NULL)`
  yield* sql`DROP INDEX notifications_due_idx`
  yield* sql`CREATE INDEX notifications_due_idx ON notifications (due_at) WHERE status IN ('pending', 'scheduled')`
  // The event envelope's `metadata` (e.g. the provider that delivered a notification).
  yield* sql`ALTER TABLE outbox_events ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb`
  yield* sql`CREATE INDEX notifications_lease_idx ON notifications (lease_expires_at) WHERE status = 'sending'`
})
