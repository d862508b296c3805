import * as Schema from "effect/Schema"

export const Limit = Schema.NumberFromString.pipe(
  Schema.int(),
  Schema.between(1, 100),
  Schema.annotations({ description: "Page size, 1..100.", examples: [50] })
)

export const Cursor = Schema.String.pipe(
  Schema.maxLength(512),
  Schema.annotations({ description: "Opaque cursor from a previous page's `pagination.next_cursor`." })
)

export const defaultLimit = 50

/** Query parameters every list endpoint takes; `limit` defaults to 50. */
export const pageParams = {
  limit: Schema.optional(Limit.annotations({ default: defaultLimit })),
  cursor: Schema.optional(Cursor)
}

export const PageInfo = Schema.Struct({
  limit: Schema.Int,
  next_cursor: Schema.NullOr(Schema.String),
  has_more: Schema.Boolean
}).annotations({ identifier: "PageInfo" })

export const Page = <A, I, R>(item: Schema.Schema<A, I, R>, identifier: string) =>
  Schema.Struct({
    data: Schema.Array(item),
    pagination: PageInfo
  }).annotations({ identifier })

export interface PageOf<A> {
  readonly data: ReadonlyArray<A>
  readonly pagination: typeof PageInfo.Type
}
