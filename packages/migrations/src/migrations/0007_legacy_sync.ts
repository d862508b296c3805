import { SqlClient } from "@effect/sql"
import * as Effect from "effect/Effect"

/**
 * The two directions of the monolith sync. Forward: each migrated row keeps the position of the
 * last monolith change it reflects, so an older write (a backfill batch read just before a change
 * the bridge has applied) is ignored. Reverse: events record their writing transaction, so the
 * reverse sync can read them by transaction horizon (as the bridge reads the monolith's change
 * log) and never skip one committed late. The column is added without a default first, then
 * given one, so existing events (which need no reverse sync) are not rewritten.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE templates ADD COLUMN legacy_position bigint`
  yield* sql`ALTER TABLE user_preferences ADD COLUMN legacy_position bigint`
  yield* sql`ALTER TABLE notifications ADD COLUMN legacy_position bigint`
  yield* sql`ALTER TABLE notification_events ADD COLUMN txid bigint`
  yield* sql`ALTER TABLE notification_events ALTER COLUMN txid SET DEFAULT txid_current()`
  yield* sql`CREATE INDEX notification_events_txid ON notification_events (txid, aggregate_id, version)
    WHERE txid IS NOT NULL`
  yield* sql`COMMENT ON COLUMN legacy_bridge_state.horizon IS
    'The transaction id of the last change applied (forward: the monolith''s change log; reverse: the event store).'`
  yield* sql`COMMENT ON COLUMN legacy_bridge_state.last_seq IS
    'Forward: the last change id applied within that transaction. Reverse: unused (whole transactions are applied).'`
})
