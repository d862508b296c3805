import { HttpClient, HttpClientRequest } from "@effect/platform"
import { SqlClient } from "@effect/sql"
import { LegacyMapping, templateMissing } from "@notification-service/core"
import {
  type Client,
  type LegacyNotification,
  type LegacyPreference,
  type LegacyTemplate,
  makeClient
} from "@notification-service/domain"
import * as Config from "effect/Config"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { readPosition, savePosition } from "./Position.js"

type Entity = LegacyMapping.Entity

export const BridgeConfig = Config.all({
  serviceUrl: Config.string("NOTIFICATION_SERVICE_URL"),
  apiKey: Config.redacted("NOTIFICATION_SERVICE_API_KEY"),
  batchSize: Config.integer("BRIDGE_BATCH_SIZE").pipe(Config.withDefault(200)),
  concurrency: Config.integer("BRIDGE_CONCURRENCY").pipe(Config.withDefault(8)),
  pollInterval: Config.duration("BRIDGE_POLL_INTERVAL").pipe(Config.withDefault(Duration.millis(500)))
})
export type BridgeConfig = Config.Config.Success<typeof BridgeConfig>

export const lagSeconds = Metric.gauge("bridge_lag_seconds", {
  description: "Age of the oldest change not yet applied, by direction and table (0 when caught up)."
})
export const changesPending = Metric.gauge("bridge_changes_pending", {
  description: "Changes recorded but not yet applied, by direction and table."
})
export const changesApplied = Metric.counter("bridge_changes_applied_total", {
  description: "Rows written by the bridge, by direction, table and outcome (inserted, updated, unchanged, deleted).",
  incremental: true
})
export const changesRejected = Metric.counter("bridge_changes_rejected_total", {
  description: "Changes the service refused (409/422): logged with the reason; `legacy:verify` lists them.",
  incremental: true
})

export const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, direction: string, entity: Entity) =>
  metric.pipe(Metric.tagged("direction", direction), Metric.tagged("table", entity))

/** The typed client on `NOTIFICATION_SERVICE_URL`, every request carrying the bridge's API key. */
export const bridgeClient = (config: BridgeConfig) =>
  makeClient({
    baseUrl: config.serviceUrl,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(Redacted.value(config.apiKey)))
  })

/** The service refuses the bridge itself (bad key, missing scope, wrong URL): stop rather than skip changes. */
export class ServiceRefused extends Data.TaggedError("ServiceRefused")<{ readonly reason: string }> {}

type Call<A> = Effect.Effect<A, { readonly _tag: string }>

/** What a failed call means for the change: try again later, give up on it, or stop the bridge. */
const transient = new Set(["RequestError", "ResponseError", "ServiceUnavailable", "TooManyRequests"])
const rejected = new Set(["Conflict", "Unprocessable", "BadRequest", "PayloadTooLarge"])

// Transient failures (service calls here, the databases in the bin) are retried for as long as
// they last (a change must not be skipped), backing off to one attempt every 30 s.
export const backoff = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.jittered,
  Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(30)))
)

const detailOf = (error: { readonly _tag: string }): string =>
  (error as { readonly detail?: string }).detail ?? error._tag

// A 409 for an Idempotency-Key whose first request is still running (two rows of a batch copying
// the same template) means "retry shortly": the retry replays the first request's answer.
const inFlight = (error: { readonly _tag: string }) =>
  error._tag === "Conflict" && detailOf(error).includes("still being processed")
const isTransient = (error: { readonly _tag: string }) => transient.has(error._tag) || inFlight(error)

const withRetries = <A>(call: Call<A>) =>
  call.pipe(
    Effect.tapError((error) =>
      isTransient(error) ? Effect.logWarning("service call failed; retrying", error) : Effect.void
    ),
    Effect.retry({ schedule: backoff, while: isTransient })
  )

interface Change {
  readonly id: number
  readonly row_id: number
  readonly txid: number
}

/**
 * The forward direction for one table: tails the monolith's change log by transaction horizon
 * (a change becomes visible only once every older transaction has finished, so one committed late
 * under a smaller id is never skipped), re-reads each changed row as it is now, with its position,
 * and applies it through the internal API under the change's id as `Idempotency-Key`. Reading the
 * current row (not the logged image) makes the order of transactions irrelevant; the position
 * makes the service ignore anything older than what it holds. Returns how many changes it took.
 */
export const forwardStep = (entity: Entity, client: Client, config: BridgeConfig) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const legacy = yield* LegacyMapping.LegacySql
    const { timeZone } = yield* LegacyMapping.LegacyConfig
    const name = `forward:${entity}`
    const table = LegacyMapping.tables[entity].legacy
    const from = yield* readPosition(sql, name)
    const changes = yield* legacy<Change>`
      SELECT id::float8 AS id, row_id, txid::float8 AS txid FROM notifications_legacy_changes
      WHERE table_name = ${table} AND (txid, id) > (${from.txid}, ${from.seq})
        AND txid < txid_snapshot_xmin(txid_current_snapshot())
      ORDER BY txid, id LIMIT ${config.batchSize}`
    const last = changes.at(-1)
    if (last === undefined) return 0
    const latest = new Map<number, Change>()
    for (const change of changes) latest.set(change.row_id, change)
    const current = yield* currentRows(legacy, timeZone, entity, [...latest.keys()])
    yield* Effect.forEach([...latest.values()], (change) => apply(client, entity, change, current.get(change.row_id)), {
      concurrency: config.concurrency,
      discard: true
    })
    yield* savePosition(sql, name, { txid: last.txid, seq: last.id })
    return changes.length
  }).pipe(Effect.withSpan("Bridge.forwardStep", { attributes: { table: entity } }))

type Decoded = Either.Either<unknown, string>

/** The changed rows as they are now, mapped and decoded; a row that is gone was deleted. */
const currentRows = (legacy: SqlClient.SqlClient, zone: string, entity: Entity, ids: ReadonlyArray<number>) =>
  Effect.gen(function* () {
    const { select, schema } = LegacyMapping.spec[entity]
    const rows = yield* select(legacy, zone, { _tag: "Ids", ids }, LegacyMapping.allIds, ids.length)
    const decode = Schema.decodeUnknownEither(schema as Schema.Schema<unknown, unknown>)
    return new Map<number, Decoded>(
      rows.map((row) => [
        Number((row as { readonly legacy_id: number }).legacy_id),
        Either.mapLeft(decode(row), (error) => error.message)
      ])
    )
  })

/** The call that makes the service hold `row` (or its deletion); logs are never deleted there. */
const send = (client: Client, entity: Entity, change: Change, row: unknown): Call<{ readonly outcome: string }> => {
  const headers = { "idempotency-key": `legacy-change-${change.id}` }
  const path = { legacy_id: change.row_id }
  const urlParams = { position: change.id }
  switch (entity) {
    case "templates":
      return row === undefined
        ? client.legacy.deleteTemplate({ path, headers, urlParams })
        : client.legacy.putTemplate({ path, headers, payload: row as LegacyTemplate })
    case "preferences":
      return row === undefined
        ? client.legacy.deletePreference({ path, headers, urlParams })
        : client.legacy.putPreference({ path, headers, payload: row as LegacyPreference })
    case "notifications":
      return row === undefined
        ? Effect.as(
            Effect.logWarning("a log deleted in the monolith is kept in the service (its history stays)", {
              legacy_id: change.row_id
            }),
            { outcome: "kept" }
          )
        : client.legacy.putNotification({ path, headers, payload: row as LegacyNotification })
  }
}

const apply = (client: Client, entity: Entity, change: Change, row: Decoded | undefined) =>
  Effect.gen(function* () {
    if (row !== undefined && Either.isLeft(row)) return yield* reject(entity, change, row.left)
    const value = row?.right
    const attempt = withRetries(send(client, entity, change, value))
    // A log whose template has not been copied yet (its change is in a later batch): copy the
    // template now, then the log.
    const result = yield* Effect.either(
      attempt.pipe(
        Effect.catchIf(
          (error) => error._tag === "Conflict" && detailOf(error).startsWith(templateMissing),
          () =>
            Effect.zipRight(
              copyTemplate(client, (value as LegacyNotification).template_legacy_id ?? 0),
              withRetries(send(client, entity, change, value))
            )
        )
      )
    )
    if (Either.isRight(result)) {
      return yield* Metric.update(
        tagged(changesApplied, "forward", entity).pipe(Metric.tagged("outcome", result.right.outcome)),
        1
      )
    }
    if (!rejected.has(result.left._tag)) {
      return yield* new ServiceRefused({ reason: `${result.left._tag}: ${detailOf(result.left)}` })
    }
    return yield* reject(entity, change, detailOf(result.left))
  })

/** One template as it is now, applied under a key naming its position. */
const copyTemplate = (client: Client, legacyId: number) =>
  Effect.gen(function* () {
    const legacy = yield* LegacyMapping.LegacySql
    const { timeZone } = yield* LegacyMapping.LegacyConfig
    const row = (yield* currentRows(legacy, timeZone, "templates", [legacyId])).get(legacyId)
    if (row === undefined || Either.isLeft(row)) return
    const template = row.right as LegacyTemplate
    yield* withRetries(
      client.legacy.putTemplate({
        path: { legacy_id: legacyId },
        headers: { "idempotency-key": `legacy-template-${legacyId}@${template.legacy_position}` },
        payload: template
      })
    )
  })

const reject = (entity: Entity, change: Change, reason: string) =>
  Effect.zipRight(
    Effect.logError("the service refused a monolith change; it stays unapplied until fixed", {
      table: entity,
      legacy_id: change.row_id,
      change: change.id,
      reason
    }),
    Metric.update(tagged(changesRejected, "forward", entity), 1)
  )

/** Lag and backlog of one table, for the metrics. */
export const forwardLag = (entity: Entity) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const legacy = yield* LegacyMapping.LegacySql
    const from = yield* readPosition(sql, `forward:${entity}`)
    const [lag] = yield* legacy<{ readonly pending: number; readonly seconds: number | null }>`
      SELECT count(*)::int AS pending, extract(epoch FROM clock_timestamp() - min(changed_at))::float8 AS seconds
      FROM notifications_legacy_changes
      WHERE table_name = ${LegacyMapping.tables[entity].legacy} AND (txid, id) > (${from.txid}, ${from.seq})`
    yield* Metric.set(tagged(changesPending, "forward", entity), lag?.pending ?? 0)
    yield* Metric.set(tagged(lagSeconds, "forward", entity), lag?.seconds ?? 0)
    return lag?.pending ?? 0
  })
