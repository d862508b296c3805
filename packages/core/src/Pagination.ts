import type { PageOf } from "@notification-service/domain"
import { encodeCursor } from "./Cursor.js"

/**
 * Repositories fetch `limit + 1` rows; the extra row only tells whether another page exists.
 */
export const toPage = <A>(
  rows: ReadonlyArray<A>,
  limit: number,
  cursorOf: (last: A) => ReadonlyArray<string | number>
): PageOf<A> => {
  const hasMore = rows.length > limit
  const data = hasMore ? rows.slice(0, limit) : rows
  const last = data[data.length - 1]
  return {
    data,
    pagination: {
      limit,
      has_more: hasMore,
      next_cursor: hasMore && last !== undefined ? encodeCursor(cursorOf(last)) : null
    }
  }
}
