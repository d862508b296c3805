import { NodeContext } from "@effect/platform-node"
import { PgMigrator } from "@effect/sql-pg"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import initial from "./migrations/0001_initial.js"
import delivery from "./migrations/0002_delivery.js"
import events from "./migrations/0003_events.js"
import correlation from "./migrations/0004_correlation.js"
import eventStore from "./migrations/0005_event_store.js"
import legacyMigration from "./migrations/0006_legacy_migration.js"
import legacySync from "./migrations/0007_legacy_sync.js"

/** Every schema migration, in order. Keys are `<id>_<name>`, as `PgMigrator.fromRecord` expects. */
export const migrations = {
  "0001_initial": initial,
  "0002_delivery": delivery,
  "0003_events": events,
  "0004_correlation": correlation,
  "0005_event_store": eventStore,
  "0006_legacy_migration": legacyMigration,
  "0007_legacy_sync": legacySync
}

export const loader = PgMigrator.fromRecord(migrations)

/**
 * Runs pending migrations in one transaction holding an exclusive lock on the migrations table:
 * replicas starting together wait, then find the schema current.
 */
export const runMigrations = PgMigrator.run({ loader }).pipe(
  Effect.tap((applied) =>
    applied.length > 0
      ? Effect.logInfo("migrations applied").pipe(
          Effect.annotateLogs({ migrations: applied.map(([id, name]) => `${id}_${name}`) })
        )
      : Effect.logDebug("schema up to date")
  ),
  Effect.provide(NodeContext.layer),
  Effect.withSpan("migrations.run")
)

export const MigrationsLive = Layer.effectDiscard(runMigrations)
