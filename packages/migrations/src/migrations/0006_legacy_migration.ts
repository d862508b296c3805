import { SqlClient } from "@effect/sql"
import * as Effect from "effect/Effect"

/**
 * Moving the monolith over: where the backfill has got to per table (so a crashed or stopped run
 * resumes), and the bridge's position in the monolith's change log and which direction it runs
 * for each table.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE legacy_backfill_checkpoints (
      entity text PRIMARY KEY,
      last_legacy_id integer NOT NULL,
      rows_copied bigint NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE legacy_bridge_state (
      name text PRIMARY KEY,
      -- Forward: every legacy change below this transaction horizon is applied.
      horizon bigint NOT NULL DEFAULT 0,
      -- Reverse: the last outbox sequence number projected back into the legacy tables.
      last_seq bigint NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  // One direction per table at a time: the bridge takes this row's lock and checks it.
  yield* sql`
    CREATE TABLE legacy_sync_directions (
      entity text PRIMARY KEY CHECK (entity IN ('templates', 'preferences', 'notifications')),
      direction text NOT NULL CHECK (direction IN ('forward', 'reverse')),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
})
