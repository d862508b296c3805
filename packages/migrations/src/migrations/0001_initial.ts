import { SqlClient } from "@effect/sql"
import * as Effect from "effect/Effect"

/**
 * The service's own schema. `legacy_id` holds the monolith's integer id for migrated rows
 * (unique, null for rows created here). Every list query has an index that serves its ORDER BY.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient

  yield* sql`
    CREATE TABLE templates (
      id uuid PRIMARY KEY,
      legacy_id integer UNIQUE,
      name text NOT NULL,
      type text NOT NULL CHECK (type IN ('email', 'sms', 'push')),
      subject text,
      body text NOT NULL,
      variables jsonb NOT NULL DEFAULT '[]'::jsonb,
      version integer NOT NULL DEFAULT 1 CHECK (version > 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      CHECK (type <> 'email' OR subject IS NOT NULL)
    )`
  // Names are unique among live templates only: deleting one frees its name.
  yield* sql`CREATE UNIQUE INDEX templates_live_name_key ON templates (name) WHERE deleted_at IS NULL`
  yield* sql`CREATE INDEX templates_live_name_id_idx ON templates (name text_pattern_ops, id) WHERE deleted_at IS NULL`
  yield* sql`CREATE INDEX templates_live_type_name_id_idx ON templates (type, name, id) WHERE deleted_at IS NULL`

  yield* sql`
    CREATE TABLE notifications (
      id uuid PRIMARY KEY,
      legacy_id integer UNIQUE,
      user_id bigint NOT NULL CHECK (user_id > 0),
      template_id uuid REFERENCES templates (id),
      template_version integer,
      channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
      status text NOT NULL CHECK (status IN ('pending', 'scheduled', 'sending', 'sent', 'delivered', 'failed',
        'bounced', 'suppressed', 'cancelled')),
      priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('high', 'normal', 'low')),
      recipient jsonb,
      variables jsonb NOT NULL DEFAULT '{}'::jsonb,
      metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
      status_reason text,
      error_message text,
      provider_message_id text,
      scheduled_at timestamptz,
      sent_at timestamptz,
      delivered_at timestamptz,
      failed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC, id DESC)`
  yield* sql`CREATE INDEX notifications_user_status_created_idx ON notifications (user_id, status, created_at DESC, id DESC)`
  yield* sql`CREATE INDEX notifications_user_channel_created_idx ON notifications (user_id, channel, created_at DESC, id DESC)`
  yield* sql`CREATE INDEX notifications_template_idx ON notifications (template_id)`
  yield* sql`CREATE INDEX notifications_due_idx ON notifications (scheduled_at) WHERE status = 'scheduled'`

  yield* sql`
    CREATE TABLE user_preferences (
      user_id bigint PRIMARY KEY CHECK (user_id > 0),
      legacy_id integer UNIQUE,
      email_enabled boolean NOT NULL DEFAULT true,
      sms_enabled boolean NOT NULL DEFAULT true,
      push_enabled boolean NOT NULL DEFAULT true,
      quiet_hours_start time,
      quiet_hours_end time,
      timezone text NOT NULL DEFAULT 'UTC',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((quiet_hours_start IS NULL) = (quiet_hours_end IS NULL))
    )`

  yield* sql`
    CREATE TABLE idempotency_keys (
      api_key_id text NOT NULL,
      key text NOT NULL,
      request_hash text NOT NULL,
      state text NOT NULL CHECK (state IN ('in_flight', 'completed')),
      response_status integer,
      response_body jsonb,
      notification_id uuid REFERENCES notifications (id),
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (api_key_id, key)
    )`
  yield* sql`CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at)`

  yield* sql`
    CREATE TABLE outbox_events (
      id uuid PRIMARY KEY,
      event_type text NOT NULL,
      aggregate_type text NOT NULL,
      aggregate_id text NOT NULL,
      user_id bigint NOT NULL,
      payload jsonb NOT NULL,
      headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz,
      attempts integer NOT NULL DEFAULT 0,
      last_error text
    )`
  // The relay reads unpublished events in order; published ones drop out of this small index.
  yield* sql`CREATE INDEX outbox_events_unpublished_idx ON outbox_events (created_at, id) WHERE published_at IS NULL`
})
