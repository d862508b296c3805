import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

export const NotificationStatus = Schema.Literal(
  "pending",
  "scheduled",
  "sending",
  "sent",
  "delivered",
  "failed",
  "bounced",
  "suppressed",
  "cancelled"
).annotations({ title: "NotificationStatus" })
export type NotificationStatus = typeof NotificationStatus.Type

export const allStatuses: ReadonlyArray<NotificationStatus> = NotificationStatus.literals

/**
 * Every legal move of a notification. Anything not listed is refused, so a late or replayed
 * provider callback can never move a notification backwards (e.g. `delivered` -> `sent`).
 * `sending -> pending` is a retryable delivery failure going back to the queue.
 */
export const transitions: { readonly [S in NotificationStatus]: ReadonlyArray<NotificationStatus> } = {
  pending: ["scheduled", "sending", "sent", "failed", "suppressed", "cancelled"],
  scheduled: ["pending", "sending", "failed", "suppressed", "cancelled"],
  sending: ["pending", "sent", "delivered", "failed", "bounced"],
  sent: ["delivered", "failed", "bounced"],
  delivered: ["bounced"],
  failed: [],
  bounced: [],
  suppressed: [],
  cancelled: []
}

export const isTerminal = (status: NotificationStatus): boolean => transitions[status].length === 0

/**
 * Whether `from -> to` is allowed. Repeating the current status is allowed and changes nothing,
 * because providers deliver callbacks at least once.
 */
export const canTransition = (from: NotificationStatus, to: NotificationStatus): boolean =>
  from === to || transitions[from].includes(to)

export interface IllegalTransition {
  readonly from: NotificationStatus
  readonly to: NotificationStatus
}

export const transition = (
  from: NotificationStatus,
  to: NotificationStatus
): Either.Either<NotificationStatus, IllegalTransition> =>
  canTransition(from, to) ? Either.right(to) : Either.left({ from, to })
