import type { SqlError } from "@effect/sql/SqlError"
import {
  Conflict,
  defaultLimit,
  type ListTemplatesParams,
  NotFound,
  type PageOf,
  type PreviewRequest,
  type Template,
  type TemplateId,
  type TemplateInput,
  templateFields
} from "@notification-service/domain"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { decodeCursor } from "./Cursor.js"
import { toPage } from "./Pagination.js"
import { Renderer } from "./Renderer.js"
import { isUniqueViolation } from "./Sql.js"
import { TemplateRepo } from "./TemplateRepo.js"

const notFound = (id: string) => new NotFound({ resource: "template", detail: `Template ${id} does not exist.` })

const duplicateName = (name: string) => new Conflict({ detail: `A template named '${name}' already exists.` })

const orDuplicate =
  (name: string) =>
  <A, E, R>(effect: Effect.Effect<A, E | SqlError, R>): Effect.Effect<A, E | SqlError | Conflict, R> =>
    Effect.catchIf(effect, isUniqueViolation, () => Effect.fail(duplicateName(name)))

export class Templates extends Effect.Service<Templates>()("core/Templates", {
  effect: Effect.gen(function* () {
    const repo = yield* TemplateRepo
    const renderer = yield* Renderer

    const get = (id: TemplateId) =>
      repo
        .findById(id)
        .pipe(Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed })))

    const list = (params: ListTemplatesParams) =>
      Effect.gen(function* () {
        const limit = params.limit ?? defaultLimit
        const after = yield* decodeCursor(params.cursor)
        const rows = yield* repo.list({
          limit: limit + 1,
          after,
          type: params.type,
          namePrefix: params.name
        })
        return toPage(rows, limit, (t) => [t.name, t.id]) satisfies PageOf<Template>
      })

    const create = (input: TemplateInput) => {
      const fields = templateFields(input)
      return renderer.validate(fields).pipe(Effect.zipRight(repo.insert(fields)), orDuplicate(input.name))
    }

    /**
     * Replaces the template. A PUT that leaves `syntax` out keeps the template's syntax: a client
     * unaware of it must not turn a migrated `{key}` template into Liquid, where `{key}` is text.
     */
    const update = (id: TemplateId, input: TemplateInput) =>
      Effect.gen(function* () {
        const current = yield* get(id)
        const fields = { ...templateFields(input), syntax: input.syntax ?? current.syntax }
        yield* renderer.validate(fields)
        return yield* repo
          .update(id, fields)
          .pipe(
            orDuplicate(input.name),
            Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed }))
          )
      })

    /** Renders exactly as a send would, without sending. */
    const preview = (id: TemplateId, request: PreviewRequest) =>
      get(id).pipe(Effect.flatMap((template) => renderer.render(template, request.variables ?? {})))

    const remove = (id: TemplateId) =>
      repo.softDelete(id).pipe(Effect.flatMap((deleted) => (deleted ? Effect.void : Effect.fail(notFound(id)))))

    return { get, list, create, update, preview, remove } as const
  }),
  dependencies: [TemplateRepo.Default, Renderer.Default]
}) {}
