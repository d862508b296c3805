import { SqlClient } from "@effect/sql"
import type { LegacyMapping } from "@notification-service/core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

export const Direction = Schema.Literal("forward", "reverse")
export type Direction = typeof Direction.Type

export class DirectionTaken extends Schema.TaggedError<DirectionTaken>()("DirectionTaken", {
  entity: Schema.String,
  message: Schema.String
}) {}

/**
 * Holds the sync of `entities` in `direction` for the scope's lifetime. One session advisory lock
 * per table, shared by both directions and every process: while one bridge syncs a table, any
 * other (the other direction, or a second copy of this one) is refused. The table's current
 * direction is recorded in `legacy_sync_directions` for operators.
 */
export const holdDirection = (direction: Direction, entities: ReadonlyArray<LegacyMapping.Entity>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // Session locks live on one connection: reserved for as long as the scope, unlocked before
    // it goes back to the pool.
    const connection = yield* sql.reserve
    yield* Effect.addFinalizer(() =>
      connection.execute("SELECT pg_advisory_unlock_all()", [], undefined).pipe(Effect.ignore)
    )
    // Every statement on that connection: with a pool of one, a second connection would never come.
    const run = (text: string, params: ReadonlyArray<unknown>) => connection.execute(text, params, undefined)
    for (const entity of entities) {
      const [lock] = yield* run(
        "SELECT pg_try_advisory_lock(hashtext('notification-service/legacy-sync'), hashtext($1)) AS got",
        [entity]
      )
      if ((lock as { readonly got?: boolean } | undefined)?.got !== true) {
        const [holder] = yield* run("SELECT direction FROM legacy_sync_directions WHERE entity = $1", [entity])
        const current = (holder as { readonly direction?: string } | undefined)?.direction ?? "other"
        return yield* new DirectionTaken({
          entity,
          message: `${entity}: the ${current} sync is running; stop it before starting the ${direction} one`
        })
      }
      yield* run(
        `INSERT INTO legacy_sync_directions (entity, direction, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (entity) DO UPDATE SET direction = excluded.direction, updated_at = excluded.updated_at`,
        [entity, direction]
      )
    }
  })
