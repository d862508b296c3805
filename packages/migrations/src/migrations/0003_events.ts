import { SqlClient } from "@effect/sql"
import * as Effect from "effect/Effect"

/**
 * Event streaming: what the outbox relay needs to build the event envelope, the consumers'
 * exactly-once ledger, and the local projection of identity's user contacts.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`ALTER TABLE outbox_events ADD COLUMN correlation_id text`
  yield* sql`ALTER TABLE outbox_events ADD COLUMN causation_id text`
  yield* sql`ALTER TABLE outbox_events ADD COLUMN version integer NOT NULL DEFAULT 1`
  // Insertion order. Changes to one notification are serialized by its row lock, so for one
  // aggregate this is also commit order: the relay publishes by it.
  yield* sql`ALTER TABLE outbox_events ADD COLUMN seq bigserial`
  yield* sql`DROP INDEX outbox_events_unpublished_idx`
  yield* sql`CREATE INDEX outbox_events_unpublished_idx ON outbox_events (seq) WHERE published_at IS NULL`
  // Pruning published events after their retention.
  yield* sql`CREATE INDEX outbox_events_published_idx ON outbox_events (published_at) WHERE published_at IS NOT NULL`

  // A consumer records each message it has applied in the transaction that applies it.
  yield* sql`
    CREATE TABLE processed_messages (
      consumer text NOT NULL,
      event_id text NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, event_id)
    )`
  yield* sql`CREATE INDEX processed_messages_processed_at_idx ON processed_messages (processed_at)`

  // Contact details from identity's events; the service never reads identity's tables.
  yield* sql`
    CREATE TABLE user_contacts (
      user_id bigint PRIMARY KEY CHECK (user_id > 0),
      email text,
      phone text,
      device_tokens jsonb NOT NULL DEFAULT '[]'::jsonb,
      locale text,
      timezone text,
      version bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
})
