import type { SqlClient } from "@effect/sql"
import * as Effect from "effect/Effect"

/** Where a sync direction has got to: the last transaction applied, and the change within it. */
export interface TxPosition {
  readonly txid: number
  readonly seq: number
}

/** Kept in the service's `legacy_bridge_state`, one row per direction and table. */
export const readPosition = (sql: SqlClient.SqlClient, name: string) =>
  Effect.map(
    sql<TxPosition>`
      SELECT horizon::float8 AS txid, last_seq::float8 AS seq FROM legacy_bridge_state WHERE name = ${name}`,
    (rows): TxPosition => rows[0] ?? { txid: 0, seq: 0 }
  )

export const savePosition = (sql: SqlClient.SqlClient, name: string, position: TxPosition) =>
  sql`
    INSERT INTO legacy_bridge_state (name, horizon, last_seq, updated_at)
    VALUES (${name}, ${position.txid}, ${position.seq}, now())
    ON CONFLICT (name) DO UPDATE SET horizon = excluded.horizon, last_seq = excluded.last_seq,
      updated_at = excluded.updated_at`.pipe(Effect.asVoid)
