import { HttpClient, HttpClientRequest } from "@effect/platform"
import { LegacyMapping } from "@notification-service/core"
import {
  type Client,
  defaultPreference,
  LegacyNotification,
  LegacyPreference,
  makeClient,
  type Notification,
  type PageOf,
  TooManyRequests,
  toLegacyStatus,
  UserId,
  type UserPreference
} from "@notification-service/domain"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"

/**
 * Shadow reads, Scientist style: for a sample of users, read each one's notification history and
 * preferences the legacy way (SQL on the monolith's tables, mapped by `LegacyMapping`) and the way
 * the monolith will once its reads switch (the service's public API), and compare what a reader
 * of either would see. The go/no-go check before `NOTIFICATIONS_READS=service`.
 */

/** Which users: a reproducible sample of those with logs or preferences, or an explicit list. */
export type UserSelection =
  | { readonly _tag: "Sample"; readonly size: number; readonly seed: string }
  | { readonly _tag: "List"; readonly users: ReadonlyArray<number> }

export interface ShadowOptions {
  readonly users: UserSelection
  /** Users compared at once. */
  readonly concurrency: number
  /** At most this many mismatches shown. */
  readonly examples: number
}

export type Entity = "notification" | "preference"
export type MismatchKind = "missing_in_service" | "missing_in_legacy" | "different"

export interface Mismatch {
  readonly user: number
  readonly entity: Entity
  readonly kind: MismatchKind
  /** The monolith's row id (log or preference row), when the legacy side has one. */
  readonly legacyId: number | null
  /** The service's notification id, when the service side has one. */
  readonly serviceId: string | null
  /** The field that differs (`different` only). */
  readonly field: string | null
  readonly legacy: unknown
  readonly service: unknown
}

export interface ShadowReport {
  readonly ok: boolean
  /** The sample's seed (null for an explicit list): the same seed on the same data picks the same users. */
  readonly seed: string | null
  readonly users: ReadonlyArray<number>
  readonly usersCompared: number
  /** Logs compared by legacy id (the union of both sides). */
  readonly notificationsCompared: number
  /** Service notifications without a legacy id: written by the service itself, not compared. */
  readonly serviceOnlyNotifications: number
  readonly preferencesCompared: number
  readonly mismatchingUsers: number
  readonly mismatchRate: number
  readonly mismatches: number
  /** By `<entity>.<field>` for differing fields, `<entity>.<missing_in_…>` for missing rows. */
  readonly mismatchCounts: Readonly<Record<string, number>>
  readonly examples: ReadonlyArray<Mismatch>
  readonly seconds: number
}

/** The same settings as the Django monolith's, so one set of secrets serves both. */
export const ServiceConfig = Config.all({
  url: Config.string("NOTIFICATION_SERVICE_URL").pipe(Config.withDefault("http://127.0.0.1:3000")),
  // Needs the scopes notifications:read and preferences:read.
  apiKey: Config.redacted("NOTIFICATION_SERVICE_API_KEY")
})

/** The typed client of the public API (the contract the server implements), authenticated. */
export const serviceClient = Effect.gen(function* () {
  const { url, apiKey } = yield* ServiceConfig
  return yield* makeClient({
    baseUrl: url.replace(/\/+$/, ""),
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(apiKey))
  })
})

/**
 * The rate limiter and a draining instance answer 429 and 503: wait (as long as `retry_after`
 * says) and ask again, rather than fail a long comparison on one busy moment.
 */
const patiently = <A, E extends { readonly _tag: string }, R>(request: Effect.Effect<A, E, R>) =>
  request.pipe(
    Effect.tapError((error) =>
      error instanceof TooManyRequests ? Effect.sleep(Duration.seconds(error.retry_after)) : Effect.void
    ),
    Effect.retry({
      while: (error) => error._tag === "TooManyRequests" || error._tag === "ServiceUnavailable",
      schedule: Schedule.exponential("200 millis"),
      times: 5
    })
  )

const pageSize = 100

/** Every notification of the user, newest first, following the cursors to the last page. */
const serviceHistory = (client: Client, user: UserId) =>
  Effect.gen(function* () {
    const all: Array<Notification> = []
    let cursor: string | null = null
    do {
      const page: PageOf<Notification> = yield* patiently(
        client.notifications.listForUser({
          path: { user_id: user },
          urlParams: cursor === null ? { limit: pageSize } : { limit: pageSize, cursor }
        })
      )
      all.push(...page.data)
      cursor = page.pagination.has_more ? page.pagination.next_cursor : null
    } while (cursor !== null)
    return all
  })

/**
 * The sample, picked in the monolith's database among users with logs or preferences. Ordered by
 * a hash of the seed and the id rather than `random()`: the same seed on the same data picks the
 * same users, on any server, without session state. Ids that cannot be service users (not
 * positive) are left out: the backfill rejects their rows and `verify` reports them.
 */
const sampleUsers = (size: number, seed: string) =>
  Effect.gen(function* () {
    const legacy = yield* LegacyMapping.LegacySql
    const rows = yield* legacy<{ readonly user_id: number }>`
      SELECT user_id FROM (
        SELECT user_id FROM notifications_notificationlog
        UNION SELECT user_id FROM notifications_userpreference
      ) u WHERE user_id > 0
      ORDER BY md5(${seed} || ':' || user_id::text), user_id LIMIT ${size}`
    return rows.map((row) => row.user_id)
  })

// Only the fields compared: the rest of the mapped row (positions, template ids) is the sync's business.
const LegacyLog = LegacyNotification.pick("legacy_id", "channel", "status", "sent_at", "error_message", "metadata")
type LegacyLog = typeof LegacyLog.Type
const LegacyPreferenceRow = LegacyPreference.pick(
  "legacy_id",
  "email_enabled",
  "sms_enabled",
  "push_enabled",
  "quiet_hours_start",
  "quiet_hours_end",
  "timezone"
)
type LegacyPreferenceRow = typeof LegacyPreferenceRow.Type
const decodeLogs = Schema.decodeUnknown(Schema.Array(LegacyLog))
const decodePreferences = Schema.decodeUnknown(Schema.Array(LegacyPreferenceRow))

/** A log as a reader sees it, in the monolith's terms on both sides. */
interface LogView {
  readonly channel: string
  readonly status: string
  readonly sent_at: string | null
  readonly error_message: string | null
  readonly metadata: unknown
}

/** Preferences as a reader sees them; quiet hours as `HH:MM:SS` on both sides. */
interface PreferenceView {
  readonly email_enabled: boolean
  readonly sms_enabled: boolean
  readonly push_enabled: boolean
  readonly quiet_hours_start: string | null
  readonly quiet_hours_end: string | null
  readonly timezone: string
}

/**
 * The API carries milliseconds (the service reads timestamps into JS dates, which truncate); the
 * monolith keeps microseconds. Truncated the same way, equal instants print the same.
 */
const toMillis = (iso: string): string =>
  iso.replace(
    /(T\d{2}:\d{2}:\d{2})(?:\.(\d*))?Z$/,
    (_, time: string, fraction: string | undefined) => `${time}.${(fraction ?? "").padEnd(3, "0").slice(0, 3)}Z`
  )

/** JSON with sorted keys: metadata is equal whatever order each database keeps its keys in. */
const canonical = (value: unknown): string => JSON.stringify(sortKeys(value))
const sortKeys = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sortKeys)
    : value !== null && typeof value === "object"
      ? Object.fromEntries(
          Object.entries(value)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([key, item]) => [key, sortKeys(item)])
        )
      : value

/**
 * Statuses compare in the legacy CHECK set: the mapped legacy status and the service's, both
 * through `toLegacyStatus`. The service legitimately moves a copied `sent` to `delivered`; what
 * the monolith would show is still `sent`. (A NULL legacy status maps to `failed` and back.)
 */
const legacyLog = (row: LegacyLog): LogView => ({
  channel: row.channel,
  status: toLegacyStatus[row.status],
  sent_at: row.sent_at === null ? null : toMillis(row.sent_at),
  error_message: row.error_message,
  metadata: row.metadata
})

const serviceLog = (n: Notification): LogView => ({
  channel: n.channel,
  status: toLegacyStatus[n.status],
  sent_at: n.sent_at === null ? null : DateTime.formatIso(n.sent_at),
  error_message: n.error_message,
  metadata: n.metadata
})

const hhmmss = (time: string | null): string | null => (time !== null && time.length === 5 ? `${time}:00` : time)

const preferenceView = (p: LegacyPreferenceRow | UserPreference): PreferenceView => ({
  email_enabled: p.email_enabled,
  sms_enabled: p.sms_enabled,
  push_enabled: p.push_enabled,
  quiet_hours_start: hhmmss(p.quiet_hours_start),
  quiet_hours_end: hhmmss(p.quiet_hours_end),
  timezone: p.timezone
})

const logFields = ["channel", "status", "sent_at", "error_message", "metadata"] as const
const preferenceFields = [
  "email_enabled",
  "sms_enabled",
  "push_enabled",
  "quiet_hours_start",
  "quiet_hours_end",
  "timezone"
] as const

const differences = <V extends object>(
  fields: ReadonlyArray<keyof V & string>,
  legacy: V,
  service: V,
  base: Omit<Mismatch, "kind" | "field" | "legacy" | "service">
): Array<Mismatch> =>
  fields
    .filter((field) => canonical(legacy[field]) !== canonical(service[field]))
    .map((field) => ({ ...base, kind: "different", field, legacy: legacy[field], service: service[field] }))

interface UserResult {
  readonly notifications: number
  readonly serviceOnly: number
  readonly mismatches: ReadonlyArray<Mismatch>
}

const compareLogs = (
  user: number,
  legacyRows: ReadonlyArray<LegacyLog>,
  serviceRows: ReadonlyArray<Notification>
): UserResult => {
  const byLegacyId = new Map<number, Notification>()
  let serviceOnly = 0
  for (const n of serviceRows) {
    if (n.legacy_id === null) serviceOnly++
    else byLegacyId.set(n.legacy_id, n)
  }
  const mismatches: Array<Mismatch> = []
  const seen = new Set<number>()
  for (const row of legacyRows) {
    seen.add(row.legacy_id)
    const n = byLegacyId.get(row.legacy_id)
    const base = { user, entity: "notification" as const, legacyId: row.legacy_id, serviceId: n?.id ?? null }
    if (n === undefined)
      mismatches.push({ ...base, kind: "missing_in_service", field: null, legacy: legacyLog(row), service: null })
    else mismatches.push(...differences(logFields, legacyLog(row), serviceLog(n), base))
  }
  for (const [legacyId, n] of byLegacyId) {
    if (seen.has(legacyId)) continue
    mismatches.push({
      user,
      entity: "notification",
      kind: "missing_in_legacy",
      legacyId,
      serviceId: n.id,
      field: null,
      legacy: null,
      service: serviceLog(n)
    })
  }
  return { notifications: new Set([...seen, ...byLegacyId.keys()]).size, serviceOnly, mismatches }
}

/**
 * A user without a legacy preference row must get the service's defaults, never stored ones
 * (`updated_at: null`); a user with one must have it stored in the service.
 */
const comparePreferences = (
  user: UserId,
  legacyRow: LegacyPreferenceRow | undefined,
  service: UserPreference
): Array<Mismatch> => {
  const base = { user, entity: "preference" as const, legacyId: legacyRow?.legacy_id ?? null, serviceId: null }
  if (legacyRow !== undefined && service.updated_at === null)
    return [{ ...base, kind: "missing_in_service", field: null, legacy: preferenceView(legacyRow), service: null }]
  if (legacyRow === undefined && service.updated_at !== null)
    return [
      {
        ...base,
        kind: "missing_in_legacy",
        field: null,
        legacy: null,
        service: { ...preferenceView(service), updated_at: DateTime.formatIso(service.updated_at) }
      }
    ]
  const expected = preferenceView(legacyRow ?? defaultPreference(user))
  return differences(preferenceFields, expected, preferenceView(service), base)
}

/** One user, both sides read at once. */
const compareUser = (client: Client, timeZone: string, id: number) =>
  Effect.gen(function* () {
    const legacy = yield* LegacyMapping.LegacySql
    const user = UserId.make(id)
    const all = Number.MAX_SAFE_INTEGER
    const { logs, preferences, history, preference } = yield* Effect.all(
      {
        logs: LegacyMapping.legacyNotifications(legacy, timeZone, { _tag: "Table" }, LegacyMapping.allIds, all, [
          id
        ]).pipe(Effect.flatMap(decodeLogs)),
        preferences: LegacyMapping.legacyPreferences(legacy, timeZone, { _tag: "Table" }, LegacyMapping.allIds, all, [
          id
        ]).pipe(Effect.flatMap(decodePreferences)),
        history: serviceHistory(client, user),
        preference: patiently(client.preferences.get({ path: { user_id: user } }))
      },
      { concurrency: "unbounded" }
    )
    const fromLogs = compareLogs(id, logs, history)
    return {
      notifications: fromLogs.notifications,
      serviceOnly: fromLogs.serviceOnly,
      mismatches: [...fromLogs.mismatches, ...comparePreferences(user, preferences[0], preference)]
    } satisfies UserResult
  }).pipe(Effect.withSpan("shadowCompare.user", { attributes: { user: id } }))

const countKey = (m: Mismatch): string => `${m.entity}.${m.kind === "different" ? m.field : m.kind}`

/** A user's result with at most `keep` mismatches per count key: enough for the examples, bounded in memory. */
interface Summary {
  readonly notifications: number
  readonly serviceOnly: number
  readonly mismatches: number
  readonly counts: Map<string, number>
  readonly kept: Map<string, Array<Mismatch>>
}

const summarise = (result: UserResult, keep: number): Summary => {
  const counts = new Map<string, number>()
  const kept = new Map<string, Array<Mismatch>>()
  for (const m of result.mismatches) {
    const key = countKey(m)
    counts.set(key, (counts.get(key) ?? 0) + 1)
    const list = kept.get(key) ?? []
    if (list.length < keep) list.push(m)
    kept.set(key, list)
  }
  return {
    notifications: result.notifications,
    serviceOnly: result.serviceOnly,
    mismatches: result.mismatches.length,
    counts,
    kept
  }
}

/** Examples of as many different kinds as the limit allows, taken in turn from each kind. */
const pickExamples = (kept: ReadonlyMap<string, ReadonlyArray<Mismatch>>, limit: number): Array<Mismatch> => {
  const lists = [...kept.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, list]) => list)
  const picked: Array<Mismatch> = []
  for (let round = 0; picked.length < limit && lists.some((list) => list.length > round); round++)
    for (const list of lists) {
      const m = list[round]
      if (m !== undefined && picked.length < limit) picked.push(m)
    }
  return picked
}

/** Compares the chosen users' history and preferences, legacy against service. */
export const shadowCompare = (options: ShadowOptions) =>
  Effect.gen(function* () {
    const { timeZone } = yield* LegacyMapping.LegacyConfig
    const client = yield* serviceClient
    const startedAt = yield* Clock.currentTimeMillis
    const users =
      options.users._tag === "List" ? options.users.users : yield* sampleUsers(options.users.size, options.users.seed)
    const summaries = yield* Effect.forEach(
      users,
      (id) => Effect.map(compareUser(client, timeZone, id), (result) => summarise(result, options.examples)),
      { concurrency: options.concurrency }
    )
    const counts = new Map<string, number>()
    const kept = new Map<string, Array<Mismatch>>()
    for (const summary of summaries) {
      for (const [key, n] of summary.counts) counts.set(key, (counts.get(key) ?? 0) + n)
      for (const [key, list] of summary.kept) kept.set(key, [...(kept.get(key) ?? []), ...list])
    }
    const mismatchingUsers = summaries.filter((s) => s.mismatches > 0).length
    const sum = (f: (s: Summary) => number) => summaries.reduce((n, s) => n + f(s), 0)
    const mismatches = sum((s) => s.mismatches)
    return {
      ok: mismatches === 0,
      seed: options.users._tag === "Sample" ? options.users.seed : null,
      users,
      usersCompared: users.length,
      notificationsCompared: sum((s) => s.notifications),
      serviceOnlyNotifications: sum((s) => s.serviceOnly),
      preferencesCompared: users.length,
      mismatchingUsers,
      mismatchRate: users.length === 0 ? 0 : mismatchingUsers / users.length,
      mismatches,
      mismatchCounts: Object.fromEntries([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
      examples: pickExamples(kept, options.examples),
      seconds: ((yield* Clock.currentTimeMillis) - startedAt) / 1000
    } satisfies ShadowReport
  })
