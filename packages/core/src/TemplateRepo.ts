import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { type Channel, Template, type TemplateFields, type TemplateId } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { decodeRows, likePrefix } from "./Sql.js"
import { makeUuidv7 } from "./Uuid.js"

/** The API's fields, as `pg` returns them: `timestamptz` as `Date`. */
const TemplateRow = Schema.Struct({
  ...Template.fields,
  created_at: Schema.DateTimeUtcFromDate,
  updated_at: Schema.DateTimeUtcFromDate
})

// The row schema has just validated every field; the class would validate them all again.
const toTemplates = (rows: ReadonlyArray<unknown>) =>
  Effect.map(decodeRows(TemplateRow)(rows), (decoded) =>
    decoded.map((row) => new Template(row, { disableValidation: true }))
  )

const first = <A>(rows: ReadonlyArray<A>): Option.Option<A> => Option.fromNullable(rows[0])

export interface TemplateListQuery {
  readonly limit: number
  readonly after: readonly [name: string, id: string] | undefined
  readonly type: Channel | undefined
  readonly namePrefix: string | undefined
}

/** SQL for templates. Deleted templates are invisible to every read except by notification. */
export class TemplateRepo extends Effect.Service<TemplateRepo>()("core/TemplateRepo", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const columns = sql`id, name, type, subject, body, html_body, syntax, variables, version, created_at, updated_at`

    const findById = (id: TemplateId): Effect.Effect<Option.Option<Template>, SqlError> =>
      sql`SELECT ${columns} FROM templates WHERE id = ${id} AND deleted_at IS NULL`.pipe(
        Effect.flatMap(toTemplates),
        Effect.map(first),
        Effect.withSpan("TemplateRepo.findById")
      )

    /** Deleted ones too: a notification accepted before its template was deleted is still delivered. */
    const findAnyById = (id: TemplateId): Effect.Effect<Option.Option<Template>, SqlError> =>
      sql`SELECT ${columns} FROM templates WHERE id = ${id}`.pipe(
        Effect.flatMap(toTemplates),
        Effect.map(first),
        Effect.withSpan("TemplateRepo.findAnyById")
      )

    const findByName = (name: string): Effect.Effect<Option.Option<Template>, SqlError> =>
      sql`SELECT ${columns} FROM templates WHERE name = ${name} AND deleted_at IS NULL`.pipe(
        Effect.flatMap(toTemplates),
        Effect.map(first),
        Effect.withSpan("TemplateRepo.findByName")
      )

    const list = (query: TemplateListQuery): Effect.Effect<ReadonlyArray<Template>, SqlError> => {
      const conditions = [sql`deleted_at IS NULL`]
      if (query.type !== undefined) conditions.push(sql`type = ${query.type}`)
      if (query.namePrefix !== undefined) conditions.push(sql`name LIKE ${likePrefix(query.namePrefix)}`)
      if (query.after !== undefined) conditions.push(sql`(name, id) > (${query.after[0]}, ${query.after[1]}::uuid)`)
      return sql`SELECT ${columns} FROM templates WHERE ${sql.and(conditions)} ORDER BY name, id LIMIT ${query.limit}`.pipe(
        Effect.flatMap(toTemplates),
        Effect.withSpan("TemplateRepo.list")
      )
    }

    const insert = (input: TemplateFields): Effect.Effect<Template, SqlError> =>
      Effect.gen(function* () {
        const id = yield* makeUuidv7
        const now = DateTime.toDateUtc(yield* DateTime.now)
        const rows = yield* sql`
          INSERT INTO templates (id, name, type, subject, body, html_body, syntax, variables, version, created_at,
            updated_at)
          VALUES (${id}, ${input.name}, ${input.type}, ${input.subject}, ${input.body}, ${input.html_body},
                  ${input.syntax}, ${JSON.stringify(input.variables)}::jsonb, 1, ${now}, ${now})
          RETURNING ${columns}`
        const [template] = yield* toTemplates(rows)
        return template as Template
      }).pipe(Effect.withSpan("TemplateRepo.insert"))

    const update = (id: TemplateId, input: TemplateFields): Effect.Effect<Option.Option<Template>, SqlError> =>
      Effect.gen(function* () {
        const now = DateTime.toDateUtc(yield* DateTime.now)
        const rows = yield* sql`
          UPDATE templates
          SET name = ${input.name}, type = ${input.type}, subject = ${input.subject}, body = ${input.body},
              html_body = ${input.html_body}, syntax = ${input.syntax}, variables = ${JSON.stringify(input.variables)}::jsonb, version = version + 1, updated_at = ${now}
          WHERE id = ${id} AND deleted_at IS NULL
          RETURNING ${columns}`
        return first(yield* toTemplates(rows))
      }).pipe(Effect.withSpan("TemplateRepo.update"))

    const softDelete = (id: TemplateId): Effect.Effect<boolean, SqlError> =>
      Effect.gen(function* () {
        const now = DateTime.toDateUtc(yield* DateTime.now)
        const rows = yield* sql`
          UPDATE templates SET deleted_at = ${now}, updated_at = ${now}
          WHERE id = ${id} AND deleted_at IS NULL RETURNING id`
        return rows.length > 0
      }).pipe(Effect.withSpan("TemplateRepo.softDelete"))

    return { findById, findAnyById, findByName, list, insert, update, softDelete } as const
  })
}) {}
