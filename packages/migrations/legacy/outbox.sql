-- Phase 0 of the migration (MIGRATION.md): run once on the monolith's database. Every insert,
-- update and delete on the three notifications tables is recorded in
-- notifications_legacy_changes in the same transaction, with no change to Django's code. The
-- bridge (`npm run bridge`) applies the changes to the service. Idempotent: safe to run again.

CREATE TABLE IF NOT EXISTS notifications_legacy_changes (
    id BIGSERIAL PRIMARY KEY,
    table_name TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    row_id INTEGER NOT NULL,
    -- The row after the change (before it, for a DELETE).
    row_data JSONB NOT NULL,
    -- The writing transaction: once every transaction older than the oldest one still running
    -- has finished, the changes below that horizon are final. The bridge reads by this horizon,
    -- not by id, so a change committed late under a smaller id is never skipped.
    txid BIGINT NOT NULL DEFAULT txid_current(),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
-- The bridge tails each table by (txid, id).
CREATE INDEX IF NOT EXISTS notifications_legacy_changes_txid ON notifications_legacy_changes (table_name, txid, id);
-- A row's position (its last change id), read with the row by the backfill and the bridge.
CREATE INDEX IF NOT EXISTS notifications_legacy_changes_row ON notifications_legacy_changes (table_name, row_id, id);

CREATE OR REPLACE FUNCTION notifications_record_legacy_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The service's reverse sync writes with this setting: its writes are not changes to send back.
    IF coalesce(current_setting('notifications.sync_origin', true), '') = 'service' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO notifications_legacy_changes (table_name, op, row_id, row_data)
        VALUES (TG_TABLE_NAME, TG_OP, OLD.id, to_jsonb(OLD));
    ELSE
        INSERT INTO notifications_legacy_changes (table_name, op, row_id, row_data)
        VALUES (TG_TABLE_NAME, TG_OP, NEW.id, to_jsonb(NEW));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS notifications_legacy_changes ON notifications_notificationtemplate;
CREATE TRIGGER notifications_legacy_changes AFTER INSERT OR UPDATE OR DELETE ON notifications_notificationtemplate
    FOR EACH ROW EXECUTE FUNCTION notifications_record_legacy_change();
DROP TRIGGER IF EXISTS notifications_legacy_changes ON notifications_notificationlog;
CREATE TRIGGER notifications_legacy_changes AFTER INSERT OR UPDATE OR DELETE ON notifications_notificationlog
    FOR EACH ROW EXECUTE FUNCTION notifications_record_legacy_change();
DROP TRIGGER IF EXISTS notifications_legacy_changes ON notifications_userpreference;
CREATE TRIGGER notifications_legacy_changes AFTER INSERT OR UPDATE OR DELETE ON notifications_userpreference
    FOR EACH ROW EXECUTE FUNCTION notifications_record_legacy_change();

-- Reads by user for the shadow comparison and the switched reads, and the backfill's keyset.
CREATE INDEX IF NOT EXISTS notifications_notificationlog_user_id ON notifications_notificationlog (user_id, id);
-- The reverse sync finds the log it wrote for a service notification (MIGRATION.md, phase 4).
CREATE INDEX IF NOT EXISTS notifications_notificationlog_service_id
    ON notifications_notificationlog ((metadata ->> 'notification_service_id'))
    WHERE metadata ? 'notification_service_id';
