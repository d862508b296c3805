import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Notification, type NotificationId, type RenderedContent, recipientField } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import { DeliveryConfig, DispatcherConfig } from "./AppConfig.js"
import { withCorrelation } from "./Correlation.js"
import type { Message } from "./channels/Provider.js"
import { Delivery, type DeliveryResult } from "./Delivery.js"
import { recordDuration, recordOutcome } from "./DeliveryMetrics.js"
import { decide } from "./DeliveryPolicy.js"
import { type ConcurrencyConflict, retryOnConflict } from "./EventStore.js"
import { NotificationRepo, type Versioned } from "./NotificationRepo.js"
import { Outbox } from "./Outbox.js"
import { Preferences } from "./Preferences.js"
import { Renderer } from "./Renderer.js"
import { TemplateRepo } from "./TemplateRepo.js"
import { recipientFor, UserContacts } from "./UserContacts.js"

/** What `dispatch` did with a notification. */
export type DispatchOutcome = "skipped" | "sent" | "failed" | "suppressed" | "deferred" | "requeued"

type Claim =
  | { readonly _tag: "Done"; readonly outcome: DispatchOutcome }
  | {
      readonly _tag: "Claimed"
      readonly claimed: Versioned
      readonly message: Message
      readonly correlationId: string
    }

const toDate = (value: DateTime.Utc): Date => new Date(value.epochMillis)

/** The address a request gave for the notification's channel, if any. */
export const requestedAddress = (notification: Notification): Option.Option<string> =>
  Option.fromNullable(notification.recipient?.[recipientField[notification.channel]])

/** The rendered content as the channel's provider message to `address`. */
export const toMessage = (notification: Notification, content: RenderedContent, address: string): Message => {
  const idempotencyKey = notification.id
  switch (notification.channel) {
    case "email":
      return {
        _tag: "email",
        idempotencyKey,
        to: address,
        subject: content.subject ?? "",
        text: content.text,
        html: content.html
      }
    case "sms":
      return { _tag: "sms", idempotencyKey, to: address, body: content.text }
    case "push":
      return { _tag: "push", idempotencyKey, token: address, title: content.subject, body: content.text, data: {} }
  }
}

const addressKind = { email: "email address", sms: "phone number", push: "device token" } as const

/**
 * Takes one due notification through delivery: claim it, re-check the user's preferences,
 * render, send (bulkhead -> failover -> breaker -> retry -> provider), then record the outcome
 * and its outbox event in one transaction. The claim is a row lock with `SKIP LOCKED` plus a
 * status condition, and the claimed row turns `sending` with a lease, so no two dispatchers ever
 * send the same notification; a dispatcher that dies mid-send leaves a lease that lapses, and the
 * notification is sent again then with the same provider idempotency key.
 */
export class Dispatcher extends Effect.Service<Dispatcher>()("core/Dispatcher", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const repo = yield* NotificationRepo
    const templates = yield* TemplateRepo
    const preferences = yield* Preferences
    const outbox = yield* Outbox
    const renderer = yield* Renderer
    const contacts = yield* UserContacts
    const delivery = yield* Delivery
    const config = yield* DeliveryConfig
    const { lease } = yield* DispatcherConfig

    const event = outbox.appendForNotification

    const fail = (
      current: Versioned,
      now: DateTime.Utc,
      failure: { readonly code: string; readonly message: string; readonly retryable: boolean },
      changes: Partial<Pick<Notification, "attempts" | "provider">> = {}
    ) =>
      Effect.gen(function* () {
        const n = current.notification
        const failed = new Notification(
          {
            ...n,
            ...changes,
            status: "failed",
            status_reason: failure.code,
            error_message: failure.message,
            failed_at: now,
            updated_at: now
          },
          { disableValidation: true }
        )
        yield* repo.change(current, failed, "notification.failed")
        yield* event(
          failed,
          "failed",
          {
            error: { code: failure.code, message: failure.message },
            attempts: failed.attempts,
            retryable: failure.retryable
          },
          failed.provider === null ? undefined : { provider: failed.provider }
        )
        yield* recordOutcome(n.channel, "failed")
        return "failed" as const
      })

    const renderNow = (n: Notification) =>
      Effect.gen(function* () {
        const template = n.template_id === null ? Option.none() : yield* templates.findAnyById(n.template_id)
        if (Option.isNone(template)) {
          return Either.left({ code: "template_missing", message: "The template no longer exists.", retryable: false })
        }
        return yield* renderer.render(template.value, n.variables).pipe(
          Effect.map(Either.right),
          Effect.catchAll((error) =>
            Effect.succeed(Either.left({ code: "render_error", message: error.detail, retryable: false }))
          )
        )
      })

    const claim = (id: NotificationId): Effect.Effect<Claim, SqlError | ConcurrencyConflict> =>
      Effect.gen(function* () {
        const now = yield* DateTime.now
        const found = yield* repo.claimDue(id, now)
        if (Option.isNone(found)) return { _tag: "Done", outcome: "skipped" } as const
        // The events of this dispatch belong to the request or command that created the notification.
        return yield* prepare(found.value, now).pipe(
          withCorrelation({ correlationId: found.value.correlationId ?? id, causationId: null }),
          Effect.map(
            (claim): Claim =>
              claim._tag === "Claimed" ? { ...claim, correlationId: found.value.correlationId ?? id } : claim
          )
        )
      }).pipe(sql.withTransaction)

    const prepare = (current: Versioned, now: DateTime.Utc): Effect.Effect<Claim, SqlError | ConcurrencyConflict> =>
      Effect.gen(function* () {
        const n = current.notification
        if (n.status === "sending") {
          yield* Effect.logWarning("re-dispatching a notification whose dispatcher lease lapsed").pipe(
            Effect.annotateLogs({ notification_id: n.id })
          )
        } else {
          const decision = decide(n, yield* preferences.get(n.user_id), now)
          if (decision._tag === "Suppress") {
            const suppressed = new Notification(
              { ...n, status: "suppressed", status_reason: decision.reason, updated_at: now },
              { disableValidation: true }
            )
            yield* repo.change(current, suppressed, "notification.suppressed")
            yield* event(suppressed, "suppressed", { reason: decision.reason })
            yield* recordOutcome(n.channel, "suppressed")
            return { _tag: "Done", outcome: "suppressed" } as const
          }
          if (decision._tag === "Defer") {
            const deferred = new Notification(
              {
                ...n,
                status: "scheduled",
                scheduled_at: decision.until,
                status_reason: decision.reason,
                updated_at: now
              },
              { disableValidation: true }
            )
            yield* repo.change(current, deferred, "notification.deferred")
            yield* event(deferred, "scheduled", {
              scheduled_at: DateTime.formatIso(decision.until),
              reason: decision.reason
            })
            return { _tag: "Done", outcome: "deferred" } as const
          }
        }
        // Sends render at acceptance; only notifications stored without content (migrated ones,
        // say) are rendered now, from the template as it is.
        const rendered = n.content !== null ? Either.right(n.content) : yield* renderNow(n)
        if (rendered._tag === "Left") {
          return { _tag: "Done", outcome: yield* fail(current, now, rendered.left) } as const
        }
        // The request's override, else the user's contact details from identity's events.
        const address = Option.isSome(requestedAddress(n))
          ? requestedAddress(n)
          : Option.flatMap(yield* contacts.get(n.user_id), (contact) => recipientFor(n.channel, contact))
        if (Option.isNone(address)) {
          return {
            _tag: "Done",
            outcome: yield* fail(current, now, {
              code: "no_recipient",
              message: `No ${addressKind[n.channel]} to send to: the request named none and identity has none for the user.`,
              retryable: false
            })
          } as const
        }
        const sending = new Notification(
          { ...n, status: "sending", content: rendered.right, updated_at: now },
          { disableValidation: true }
        )
        const claimed = yield* repo.change(current, sending, "notification.claimed", {
          leaseUntil: toDate(DateTime.addDuration(now, lease))
        })
        return {
          _tag: "Claimed",
          claimed,
          message: toMessage(n, rendered.right, address.value),
          correlationId: n.id
        } as const
      })

    const finish = (
      current: Versioned,
      result: DeliveryResult
    ): Effect.Effect<DispatchOutcome, SqlError | ConcurrencyConflict> =>
      Effect.gen(function* () {
        const n = current.notification
        const now = yield* DateTime.now
        const attempts = n.attempts + result.attempts
        switch (result._tag) {
          case "Delivered": {
            const sent = new Notification(
              {
                ...n,
                status: "sent",
                attempts,
                provider: result.receipt.provider,
                provider_message_id: result.receipt.messageId,
                status_reason: null,
                error_message: null,
                sent_at: now,
                updated_at: now
              },
              { disableValidation: true }
            )
            yield* repo.change(current, sent, "notification.sent")
            yield* event(
              sent,
              "sent",
              { template_id: n.template_id, attempts },
              { provider: result.receipt.provider, message_id: result.receipt.messageId }
            )
            yield* recordOutcome(n.channel, "sent")
            return "sent"
          }
          case "Rejected":
            return yield* fail(
              current,
              now,
              { code: result.code, message: result.message, retryable: false },
              { attempts, provider: result.provider }
            )
          case "Unavailable": {
            const expired = DateTime.greaterThan(now, DateTime.addDuration(n.created_at, config.deadline))
            if (attempts >= config.maxAttempts || expired) {
              return yield* fail(
                current,
                now,
                {
                  code: result.code,
                  message: `${result.message} (gave up after ${attempts} attempts${expired ? ` and ${Duration.format(config.deadline)}` : ""})`,
                  retryable: true
                },
                { attempts, provider: result.provider ?? n.provider }
              )
            }
            const wait = Duration.max(
              result.code === "bulkhead_full" ? config.busyRequeueDelay : config.requeueDelay,
              result.retryAfter ?? Duration.zero
            )
            const requeued = new Notification(
              {
                ...n,
                status: "pending",
                attempts,
                provider: result.provider ?? n.provider,
                status_reason: `${result.code}: ${result.message}`,
                updated_at: now
              },
              { disableValidation: true }
            )
            yield* repo.change(current, requeued, "notification.requeued", {
              dueAt: toDate(DateTime.addDuration(now, wait))
            })
            yield* event(requeued, "status_changed", {
              from: "sending",
              reason: requeued.status_reason,
              retry_at: DateTime.formatIso(DateTime.addDuration(now, wait))
            })
            return "requeued"
          }
        }
      }).pipe(sql.withTransaction)

    /**
     * The provider has been called: what it did is recorded even if the notification changed
     * meanwhile (a lapsed lease let another dispatcher re-claim it), onto the fresh state while it
     * is still `sending`; and it survives a brief database outage.
     */
    const finishRetrying = (claimed: Versioned, result: DeliveryResult) =>
      finish(claimed, result).pipe(
        Effect.catchTag("ConcurrencyConflict", () =>
          retryOnConflict(
            Effect.flatMap(repo.findVersioned(claimed.notification.id), (fresh) =>
              Option.isSome(fresh) && fresh.value.notification.status === "sending"
                ? finish(fresh.value, result)
                : Effect.as(
                    Effect.logWarning("delivery outcome not recorded: the notification moved on meanwhile").pipe(
                      Effect.annotateLogs({ notification_id: claimed.notification.id, outcome: result._tag })
                    ),
                    "skipped" as const
                  )
            )
          )
        ),
        Effect.retry({
          while: (error) => error._tag === "SqlError",
          schedule: Schedule.exponential("200 millis").pipe(Schedule.intersect(Schedule.recurs(5)))
        })
      )

    const dispatch = (id: NotificationId): Effect.Effect<DispatchOutcome, SqlError> =>
      Effect.gen(function* () {
        const claimed = yield* claim(id)
        if (claimed._tag === "Done") return claimed.outcome
        const channel = claimed.claimed.notification.channel
        const [elapsed, result] = yield* Effect.timed(delivery.deliver(claimed.message))
        yield* Effect.when(recordDuration(channel, Duration.toSeconds(elapsed)), () => result._tag === "Delivered")
        return yield* finishRetrying(claimed.claimed, result).pipe(
          withCorrelation({ correlationId: claimed.correlationId, causationId: null })
        )
      }).pipe(
        // Only a change made between the claim's lock and its write; the notification is due again later.
        Effect.catchTag("ConcurrencyConflict", () => Effect.succeed("skipped" as const)),
        Effect.tap((outcome) => Effect.annotateCurrentSpan("dispatch.outcome", outcome)),
        Effect.withSpan("Dispatcher.dispatch", { attributes: { "notification.id": id } })
      )

    return { dispatch } as const
  }),
  dependencies: [
    NotificationRepo.Default,
    TemplateRepo.Default,
    Preferences.Default,
    Outbox.Default,
    Renderer.Default,
    UserContacts.Default,
    Delivery.Default
  ]
}) {}
