import { BadRequest } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * Keyset cursors are base64url JSON of the last row's sort key. Opaque to clients; decoding a
 * tampered one is a 400, never a wrong page.
 */
export const encodeCursor = (key: ReadonlyArray<string | number>): string =>
  Buffer.from(JSON.stringify(key), "utf8").toString("base64url")

const CursorKey = Schema.parseJson(Schema.Tuple(Schema.String, Schema.String))

export const decodeCursor = (
  cursor: string | undefined
): Effect.Effect<readonly [string, string] | undefined, BadRequest> =>
  cursor === undefined
    ? Effect.succeed(undefined)
    : Schema.decodeUnknown(CursorKey)(Buffer.from(cursor, "base64url").toString("utf8")).pipe(
        Effect.mapError(
          () =>
            new BadRequest({
              detail: "The cursor is not one this service issued.",
              errors: [{ path: "cursor", message: "invalid cursor" }]
            })
        )
      )
