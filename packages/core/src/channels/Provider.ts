import type { Channel } from "@notification-service/domain"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"

/**
 * What a provider is asked to deliver: one rendered message for one recipient. `idempotencyKey`
 * is the notification id; providers that accept an idempotency key receive it, so a retried call
 * can never deliver twice on their side.
 */
export interface EmailMessage {
  readonly _tag: "email"
  readonly idempotencyKey: string
  readonly to: string
  readonly subject: string
  readonly text: string
  readonly html: string | null
}

export interface SmsMessage {
  readonly _tag: "sms"
  readonly idempotencyKey: string
  readonly to: string
  readonly body: string
}

export interface PushMessage {
  readonly _tag: "push"
  readonly idempotencyKey: string
  readonly token: string
  readonly title: string | null
  readonly body: string
  readonly data: Readonly<Record<string, string>>
}

export type Message = EmailMessage | SmsMessage | PushMessage

export type MessageOf<C extends Channel> = Extract<Message, { readonly _tag: C }>

/** A provider accepted the message; `messageId` is its id for it (for callbacks and support). */
export interface Receipt {
  readonly provider: string
  readonly messageId: string
}

/**
 * Why a provider call did not deliver. `retryable` decides everything downstream: retryable
 * failures (timeouts, refused connections, 429, 5xx) are retried and may fail over to the next
 * provider; permanent ones (validation, invalid recipient or token) fail the notification at once.
 */
export class ProviderError extends Schema.TaggedError<ProviderError>()("ProviderError", {
  provider: Schema.String,
  retryable: Schema.Boolean,
  /** A short machine-readable cause: `timeout`, `connection`, `rate_limited`, `server_error`, `invalid_recipient`, ... */
  code: Schema.String,
  message: Schema.String,
  /** The provider's own `Retry-After`, when it sent one. */
  retryAfter: Schema.optional(Schema.DurationFromSelf)
}) {}

export interface ChannelProvider<C extends Channel = Channel> {
  /** Stable name recorded on the notification and in event metadata: `smtp`, `sendgrid`, `twilio`, `fcm`, `log`. */
  readonly name: string
  readonly channel: C
  readonly send: (message: MessageOf<C>) => Effect.Effect<Receipt, ProviderError>
}
