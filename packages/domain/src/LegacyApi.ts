import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import { Authentication } from "./Auth.js"
import { LegacyNotification, LegacyPosition, LegacyPreference, LegacyTemplate } from "./Legacy.js"
import { IdempotencyKey } from "./Notification.js"
import { Conflict, Unprocessable } from "./Problem.js"

const LegacyPath = Schema.Struct({
  legacy_id: Schema.NumberFromString.pipe(Schema.int(), Schema.positive()).annotations({
    description: "The monolith's row id."
  })
})

/** Every write names the change it applies: a change applied twice answers the first result. */
export const LegacyHeaders = Schema.Struct({ "idempotency-key": IdempotencyKey })

export const LegacyWriteOutcome = Schema.Literal("inserted", "updated", "unchanged", "deleted")
export type LegacyWriteOutcome = typeof LegacyWriteOutcome.Type

export const LegacyWrite = Schema.Struct({
  legacy_id: Schema.Int,
  outcome: LegacyWriteOutcome
}).annotations({ identifier: "LegacyWrite", description: "What applying the monolith's row changed here." })
export type LegacyWrite = typeof LegacyWrite.Type

const upsert = <Name extends string, Row extends Schema.Schema.Any>(
  name: Name,
  path: `/${string}`,
  row: Row,
  what: string
) =>
  HttpApiEndpoint.put(name, `${path}/:legacy_id`)
    .setPath(LegacyPath)
    .setHeaders(LegacyHeaders)
    .setPayload(row)
    .addSuccess(LegacyWrite)
    .addError(Conflict.Problem)
    .addError(Unprocessable.Problem)
    .annotate(OpenApi.Summary, `Upsert a ${what} by the monolith's id`)

const remove = <Name extends string>(name: Name, path: `/${string}`, what: string) =>
  HttpApiEndpoint.del(name, `${path}/:legacy_id`)
    .setPath(LegacyPath)
    .setHeaders(LegacyHeaders)
    .setUrlParams(Schema.Struct({ position: Schema.compose(Schema.NumberFromString, LegacyPosition) }))
    .addSuccess(LegacyWrite)
    .addError(Conflict.Problem)
    .addError(Unprocessable.Problem)
    .annotate(OpenApi.Summary, `Apply the deletion of a ${what} in the monolith`)

/**
 * Internal: how the monolith bridge applies the monolith's rows while it is being migrated (see
 * MIGRATION.md). Rows are already mapped to the service's terms (`Legacy.ts`); writes upsert by
 * `legacy_id` and change nothing when the row is the same. Scope `migration:write`, which no key
 * gets by `*`: it must be granted by name.
 */
export class LegacyGroup extends HttpApiGroup.make("legacy")
  .add(
    upsert("putTemplate", "/templates", LegacyTemplate, "template").annotate(
      OpenApi.Description,
      "409 when the name belongs to another (service-created) template."
    )
  )
  .add(remove("deleteTemplate", "/templates", "template"))
  .add(upsert("putNotification", "/notifications", LegacyNotification, "notification log"))
  .add(upsert("putPreference", "/preferences", LegacyPreference, "user preference row"))
  .add(remove("deletePreference", "/preferences", "user preference row"))
  .middleware(Authentication)
  .prefix("/internal/v1/legacy")
  .annotate(
    OpenApi.Description,
    "Internal, for the migration from the monolith only: the bridge's writes by the monolith's ids. Scope `migration:write`; every call carries `Idempotency-Key` (the monolith change it applies)."
  ) {}
