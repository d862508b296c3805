import { SqlClient } from "@effect/sql"
import * as Effect from "effect/Effect"

/** The correlation id of the request or command that created a notification, for its later events. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE notifications ADD COLUMN correlation_id text`
})
