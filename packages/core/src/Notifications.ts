import { SqlClient } from "@effect/sql"
import {
  type Channel,
  Conflict,
  defaultLimit,
  type FieldError,
  InvalidTransition,
  type ListNotificationsParams,
  NotFound,
  Notification,
  type NotificationId,
  type NotificationStatus,
  type PageOf,
  type Recipient,
  recipientField,
  SendNotification,
  transition,
  Unprocessable,
  type UpdateStatus,
  type UserId
} from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { decodeCursor } from "./Cursor.js"
import { recordOutcome } from "./DeliveryMetrics.js"
import { decide } from "./DeliveryPolicy.js"
import { DispatchSignal } from "./DispatchSignal.js"
import { retryOnConflict } from "./EventStore.js"
import { Idempotency, type IdempotencyScope, requestHash } from "./Idempotency.js"
import { NotificationRepo } from "./NotificationRepo.js"
import { Outbox } from "./Outbox.js"
import { toPage } from "./Pagination.js"
import { Preferences } from "./Preferences.js"
import { checkTemplateUse, Renderer } from "./Renderer.js"
import { TemplateRepo } from "./TemplateRepo.js"
import { Templates } from "./Templates.js"
import { makeUuidv7 } from "./Uuid.js"

const encodeNotification = Schema.encodeSync(Notification)
const encodeSend = Schema.encodeSync(SendNotification)
const decodeStored = (body: unknown) => Schema.decodeUnknown(Notification)(body).pipe(Effect.orDie)

const eventOf: Partial<Record<NotificationStatus, string>> = {
  pending: "accepted",
  scheduled: "scheduled",
  suppressed: "suppressed"
}

/** A recipient given for another channel cannot be used: say so now rather than fail at delivery. */
export const checkRecipient = (channel: Channel, recipient: Recipient | undefined): FieldError | undefined => {
  if (recipient === undefined) return undefined
  const field = recipientField[channel]
  return recipient[field] === undefined
    ? { path: `recipient.${field}`, message: `recipient.${field} (the recipient names no ${field.replace("_", " ")})` }
    : undefined
}

const notFound = (id: string) =>
  new NotFound({ resource: "notification", detail: `Notification ${id} does not exist.` })

export class Notifications extends Effect.Service<Notifications>()("core/Notifications", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* NotificationRepo
    const templateRepo = yield* TemplateRepo
    const templates = yield* Templates
    const outbox = yield* Outbox
    const idempotency = yield* Idempotency
    const renderer = yield* Renderer
    const preferences = yield* Preferences
    const signal = yield* DispatchSignal

    const resolveTemplate = (request: SendNotification) =>
      request.template_id !== undefined
        ? templates.get(request.template_id)
        : templateRepo.findByName(request.template_name ?? "").pipe(
            Effect.flatMap(
              Option.match({
                onNone: () =>
                  Effect.fail(
                    new NotFound({
                      resource: "template",
                      detail: `No template is named '${request.template_name ?? ""}'.`
                    })
                  ),
                onSome: Effect.succeed
              })
            )
          )

    const accept = (request: SendNotification, idempotencyScope: IdempotencyScope | undefined) =>
      Effect.gen(function* () {
        const template = yield* resolveTemplate(request)
        const problems = checkTemplateUse(template, request)
        if (problems.length > 0) {
          return yield* new Unprocessable({
            detail: `The request cannot be sent with template '${template.name}'.`,
            errors: problems
          })
        }
        const recipientProblem = checkRecipient(template.type, request.recipient)
        if (recipientProblem !== undefined) {
          return yield* new Unprocessable({
            detail: `A ${template.type} notification needs a ${recipientProblem.message}.`,
            errors: [recipientProblem]
          })
        }
        // Rendering now refuses what delivery would refuse (missing or unusable variables, an SMS
        // over the segment limit) while the caller can still fix it.
        // What is accepted is what will be sent, even if the template changes before it is due.
        const content = yield* renderer.render(template, request.variables ?? {})
        const now = yield* DateTime.now
        const due =
          request.scheduled_at !== undefined && DateTime.greaterThan(request.scheduled_at, now)
            ? request.scheduled_at
            : now
        const priority = request.priority ?? "normal"
        const decision = decide({ channel: template.type, priority }, yield* preferences.get(request.user_id), due)
        const [status, scheduledAt, reason] =
          decision._tag === "Suppress"
            ? (["suppressed", request.scheduled_at ?? null, decision.reason] as const)
            : decision._tag === "Defer"
              ? (["scheduled", decision.until, decision.reason] as const)
              : due === now
                ? (["pending", request.scheduled_at ?? null, null] as const)
                : (["scheduled", due, null] as const)
        const notification = new Notification({
          id: (yield* makeUuidv7) as NotificationId,
          legacy_id: null,
          user_id: request.user_id,
          template_id: template.id,
          template_version: template.version,
          channel: template.type,
          status,
          priority,
          recipient: request.recipient ?? null,
          variables: request.variables ?? {},
          metadata: request.metadata ?? {},
          status_reason: reason,
          error_message: null,
          provider_message_id: null,
          provider: null,
          attempts: 0,
          content,
          scheduled_at: scheduledAt,
          sent_at: null,
          delivered_at: null,
          failed_at: null,
          created_at: now,
          updated_at: now
        })
        const type = eventOf[notification.status] ?? "accepted"
        yield* Effect.all([
          repo.create(notification, `notification.${type}`),
          outbox.appendForNotification(notification, type, {
            template_id: notification.template_id,
            ...(notification.scheduled_at === null
              ? {}
              : { scheduled_at: DateTime.formatIso(notification.scheduled_at) }),
            ...(notification.status_reason === null ? {} : { reason: notification.status_reason })
          }),
          idempotencyScope === undefined
            ? Effect.void
            : idempotency.complete(idempotencyScope, {
                status: 202,
                body: encodeNotification(notification),
                notificationId: notification.id
              })
        ]).pipe(sql.withTransaction)
        if (notification.status === "pending") yield* signal.wake
        if (notification.status === "suppressed") yield* recordOutcome(notification.channel, "suppressed")
        yield* Effect.annotateCurrentSpan({
          "notification.id": notification.id,
          "notification.channel": notification.channel
        })
        return notification
      })

    /**
     * Accepts a notification. With an idempotency key, a repeat of an accepted request answers the
     * stored notification (`replayed: true`) instead of creating another one.
     */
    const send = (request: SendNotification, idempotencyKey?: { readonly apiKeyId: string; readonly key: string }) =>
      Effect.gen(function* () {
        if (idempotencyKey === undefined) return { notification: yield* accept(request, undefined), replayed: false }
        const scope = { ...idempotencyKey, requestHash: requestHash(encodeSend(request)) }
        const claim = yield* idempotency.claim(scope)
        if (claim._tag === "Completed") {
          return { notification: yield* decodeStored(claim.responseBody), replayed: true }
        }
        const notification = yield* accept(request, scope).pipe(
          Effect.onError(() => idempotency.release(scope).pipe(Effect.ignore))
        )
        return { notification, replayed: false }
      }).pipe(Effect.withSpan("Notifications.send"))

    const get = (id: NotificationId) =>
      repo
        .findById(id)
        .pipe(Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed })))

    const listForUser = (userId: UserId, params: ListNotificationsParams) =>
      Effect.gen(function* () {
        const limit = params.limit ?? defaultLimit
        const before = yield* decodeCursor(params.cursor)
        const rows = yield* repo.listForUser({
          userId,
          limit: limit + 1,
          before,
          status: params.status,
          channel: params.channel,
          from: params.from,
          to: params.to
        })
        return toPage(rows, limit, (n) => [DateTime.formatIso(n.created_at), n.id]) satisfies PageOf<Notification>
      })

    // Optimistic: read without a lock, decide, append at the version read; a concurrent change
    // makes the append conflict, and the whole decision is made again on the fresh state.
    const changeStatus = (id: NotificationId, update: UpdateStatus) =>
      Effect.gen(function* () {
        const current = yield* repo
          .findVersioned(id)
          .pipe(Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound(id)), onSome: Effect.succeed })))
        const from = current.notification
        const next = transition(from.status, update.status)
        if (Either.isLeft(next)) {
          return yield* new InvalidTransition({
            from: from.status,
            to: update.status,
            detail: `A ${from.status} notification cannot become ${update.status}.`
          })
        }
        if (from.status === update.status) return from
        const now = yield* DateTime.now
        const updated = new Notification({
          ...from,
          status: update.status,
          error_message: update.error_message ?? from.error_message,
          provider_message_id: update.provider_message_id ?? from.provider_message_id,
          sent_at: update.status === "sent" || update.status === "delivered" ? (from.sent_at ?? now) : from.sent_at,
          delivered_at: update.status === "delivered" ? now : from.delivered_at,
          failed_at: update.status === "failed" || update.status === "bounced" ? now : from.failed_at,
          updated_at: now
        })
        // Provider callbacks have their own event types; any other manual move is a status change.
        const type = update.status === "delivered" || update.status === "bounced" ? update.status : "status_changed"
        yield* repo.change(current, updated, `notification.${type}`)
        yield* outbox.appendForNotification(updated, type, {
          from: from.status,
          ...(update.error_message === undefined ? {} : { reason: update.error_message })
        })
        return updated
      }).pipe(sql.withTransaction)

    const updateStatus = (id: NotificationId, update: UpdateStatus) =>
      retryOnConflict(changeStatus(id, update)).pipe(
        Effect.catchTag("ConcurrencyConflict", () =>
          Effect.fail(new Conflict({ detail: `Notification ${id} is changing concurrently; retry the request.` }))
        ),
        Effect.withSpan("Notifications.updateStatus")
      )

    return { send, get, listForUser, updateStatus } as const
  }),
  dependencies: [
    NotificationRepo.Default,
    TemplateRepo.Default,
    Templates.Default,
    Outbox.Default,
    Idempotency.Default,
    Renderer.Default,
    Preferences.Default,
    DispatchSignal.Default
  ]
}) {}
