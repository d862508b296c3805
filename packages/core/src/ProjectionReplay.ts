import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { EventStore, fold, type State, type StoredEvent } from "./EventStore.js"

export interface ReplaySummary {
  /** Notifications rebuilt from their events. */
  readonly aggregates: number
  readonly events: number
  /** Rows of the per-user `notification_counts` after the rebuild. */
  readonly counters: number
  /** Projection rows with no events: not the store's, so left alone and reported. */
  readonly orphans: number
}

const groupByAggregate = (events: ReadonlyArray<StoredEvent>): ReadonlyArray<State> => {
  const byAggregate = new Map<string, Array<StoredEvent>>()
  for (const event of events) {
    const list = byAggregate.get(event.aggregate_id)
    if (list === undefined) byAggregate.set(event.aggregate_id, [event])
    else list.push(event)
  }
  return [...byAggregate.values()].flatMap((list) => {
    const state = fold(list)
    return state === undefined ? [] : [state]
  })
}

/**
 * Rebuilds the projections of the notification event store: every `notifications` row from its
 * events, then the per-user `notification_counts` from the rebuilt rows. Safe beside live
 * traffic: a row is only overwritten by a state at least as new as its own (the live writer's
 * append may land between this reading the events and writing the row), and the counters are
 * recomputed under a lock that makes live writers wait for the few milliseconds it takes.
 */
export class ProjectionReplay extends Effect.Service<ProjectionReplay>()("core/ProjectionReplay", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* EventStore

    const upsert = (states: ReadonlyArray<State>) =>
      sql`
        INSERT INTO notifications (${store.columns})
        SELECT ${store.fromRecord} FROM jsonb_populate_recordset(NULL::notifications, ${JSON.stringify(states)}::jsonb) r
        ON CONFLICT (id) DO UPDATE SET (${store.columns}) = (${store.fromExcluded})
        WHERE notifications.version <= excluded.version`.pipe(Effect.asVoid)

    const rebuildCounters = Effect.gen(function* () {
      yield* sql`LOCK TABLE notification_counts IN EXCLUSIVE MODE`
      yield* sql`DELETE FROM notification_counts`
      yield* sql`
        INSERT INTO notification_counts (user_id, status, count)
        SELECT user_id, status, count(*) FROM notifications GROUP BY user_id, status`
      const [row] = yield* sql<{ readonly rows: number }>`SELECT count(*)::int AS rows FROM notification_counts`
      return row?.rows ?? 0
    }).pipe(sql.withTransaction)

    /** Every projection, in batches of `batchSize` aggregates; `onProgress` hears after each batch. */
    const rebuildAll = <R>(options: {
      readonly batchSize: number
      readonly onProgress: (progress: {
        readonly done: number
        readonly total: number
      }) => Effect.Effect<void, never, R>
    }): Effect.Effect<ReplaySummary, SqlError, R> =>
      Effect.gen(function* () {
        const [counted] = yield* sql<{ readonly total: number }>`
          SELECT count(*)::int AS total FROM notification_events WHERE version = 1`
        const total = counted?.total ?? 0
        let after = "00000000-0000-0000-0000-000000000000"
        let aggregates = 0
        let events = 0
        yield* options.onProgress({ done: 0, total })
        while (true) {
          // Keyset over the store's primary key: each batch is an index range, however big the store.
          const ids = yield* sql<{ readonly aggregate_id: string }>`
            SELECT aggregate_id FROM notification_events WHERE version = 1 AND aggregate_id > ${after}
            ORDER BY aggregate_id LIMIT ${options.batchSize}`
          const last = ids.at(-1)
          if (last === undefined) break
          const batch = yield* sql<StoredEvent>`
            SELECT aggregate_id, version, type, data FROM notification_events
            WHERE aggregate_id IN ${sql.in(ids.map((row) => row.aggregate_id))}
            ORDER BY aggregate_id, version`
          yield* upsert(groupByAggregate(batch))
          aggregates += ids.length
          events += batch.length
          after = last.aggregate_id
          yield* options.onProgress({ done: aggregates, total: Math.max(total, aggregates) })
        }
        const counters = yield* rebuildCounters
        const [orphaned] = yield* sql<{ readonly orphans: number }>`
          SELECT count(*)::int AS orphans FROM notifications n
          WHERE NOT EXISTS (SELECT 1 FROM notification_events e WHERE e.aggregate_id = n.id)`
        return { aggregates, events, counters, orphans: orphaned?.orphans ?? 0 }
      }).pipe(Effect.withSpan("ProjectionReplay.rebuildAll"))

    /** One notification's row from the store (its latest snapshot plus later events, unless told not to). */
    const rebuildOne = (
      aggregateId: string,
      options: { readonly snapshots: boolean }
    ): Effect.Effect<Option.Option<State>, SqlError> =>
      Effect.gen(function* () {
        const state = yield* store.load(aggregateId, options)
        if (Option.isSome(state)) yield* upsert([state.value])
        return state
      }).pipe(Effect.withSpan("ProjectionReplay.rebuildOne"))

    return { rebuildAll, rebuildOne } as const
  }),
  dependencies: [EventStore.Default]
}) {}
