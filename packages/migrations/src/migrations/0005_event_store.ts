import { SqlClient } from "@effect/sql"
import * as Effect from "effect/Effect"

/**
 * Event sourcing: `notification_events` is the record of every change to a notification, and
 * `notifications` (plus the per-user `notification_counts`) are projections of it, written in the
 * same transaction and rebuildable by `npm run replay`. Notifications that predate the store get
 * one `notification.imported` event holding their row as it is, so the store covers every row.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE notification_events (
      aggregate_id uuid NOT NULL,
      version integer NOT NULL CHECK (version > 0),
      type text NOT NULL,
      data jsonb NOT NULL,
      correlation_id text,
      causation_id text,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      -- Insertion order across aggregates, for readers that follow the whole store.
      seq bigserial NOT NULL UNIQUE,
      -- Optimistic concurrency: two writers that read the same version cannot both append.
      PRIMARY KEY (aggregate_id, version)
    )`
  yield* sql`
    CREATE FUNCTION notification_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'notification_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'restrict_violation';
    END
    $$`
  yield* sql`
    CREATE TRIGGER notification_events_append_only BEFORE UPDATE OR DELETE ON notification_events
      FOR EACH ROW EXECUTE FUNCTION notification_events_append_only()`

  // The projection row as of an event, so one aggregate's state is rebuilt from its latest
  // snapshot plus the events after it.
  yield* sql`
    CREATE TABLE notification_snapshots (
      aggregate_id uuid NOT NULL,
      version integer NOT NULL,
      state jsonb NOT NULL,
      taken_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (aggregate_id, version)
    )`

  // The event version the projection row reflects.
  yield* sql`ALTER TABLE notifications ADD COLUMN version integer NOT NULL DEFAULT 0 CHECK (version >= 0)`
  yield* sql`
    INSERT INTO notification_events (aggregate_id, version, type, data, correlation_id, recorded_at)
    SELECT id, 1, 'notification.imported', to_jsonb(n) - 'version', correlation_id, updated_at
    FROM notifications n ORDER BY created_at, id`
  yield* sql`UPDATE notifications SET version = 1`

  yield* sql`
    CREATE TABLE notification_counts (
      user_id bigint NOT NULL,
      status text NOT NULL,
      -- No CHECK (count >= 0): Postgres checks the proposed row of an upsert, and a move proposes -1.
      count bigint NOT NULL,
      PRIMARY KEY (user_id, status)
    )`
  yield* sql`
    INSERT INTO notification_counts (user_id, status, count)
    SELECT user_id, status, count(*) FROM notifications GROUP BY user_id, status`
})
