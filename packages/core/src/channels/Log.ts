import type { Channel } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import type { ChannelProvider, Message, MessageOf, Receipt } from "./Provider.js"

const provider = "log"

/** The whole message as log annotations: this provider exists to show what would be sent. */
const annotations = (message: Message): Record<string, unknown> => {
  switch (message._tag) {
    case "email":
      return { to: message.to, subject: message.subject, text: message.text, html: message.html }
    case "sms":
      return { to: message.to, body: message.body }
    case "push":
      return { to: message.token, subject: message.title, body: message.body, data: message.data }
  }
}

/**
 * A provider that delivers nothing and logs what it would have delivered: the default when no
 * real provider is configured (development, the embedded single-process setup). An effect like
 * the other constructors, so that all of them can be built alike.
 */
export const make = <C extends Channel>(channel: C): Effect.Effect<ChannelProvider<C>> =>
  Effect.succeed({
    name: provider,
    channel,
    send: (message: MessageOf<C>) =>
      Effect.logInfo("would deliver").pipe(
        Effect.annotateLogs({
          provider,
          channel,
          notification_id: message.idempotencyKey,
          ...annotations(message)
        }),
        Effect.as<Receipt>({ provider, messageId: `log-${message.idempotencyKey}` })
      )
  })
