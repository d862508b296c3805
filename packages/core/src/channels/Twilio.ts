import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Classify from "./Classify.js"
import type { ChannelProvider, ProviderError, Receipt, SmsMessage } from "./Provider.js"

/** Who the SMS comes from: a number (or alphanumeric id), or a Messaging Service that picks one. */
export type TwilioSender = { readonly from: string } | { readonly messagingServiceSid: string }

export interface TwilioConfig {
  readonly accountSid: string
  readonly authToken: Redacted.Redacted
  readonly sender: TwilioSender
  /** Where Twilio posts the message's delivery status. */
  readonly statusCallbackUrl?: string | undefined
  readonly baseUrl: string
}

export const config: Config.Config<TwilioConfig> = Config.all({
  accountSid: Config.string("TWILIO_ACCOUNT_SID"),
  authToken: Config.redacted("TWILIO_AUTH_TOKEN"),
  from: Config.option(Config.string("TWILIO_FROM")),
  messagingServiceSid: Config.option(Config.string("TWILIO_MESSAGING_SERVICE_SID")),
  statusCallbackUrl: Config.option(Config.string("TWILIO_STATUS_CALLBACK_URL")),
  baseUrl: Config.string("TWILIO_BASE_URL").pipe(Config.withDefault("https://api.twilio.com"))
}).pipe(
  Config.mapOrFail(({ from, messagingServiceSid, statusCallbackUrl, ...rest }) => {
    // A Messaging Service, when there is one, chooses the sender itself (and handles opt-outs).
    const sender: Option.Option<TwilioSender> = Option.orElse(
      Option.map(messagingServiceSid, (sid) => ({ messagingServiceSid: sid })),
      () => Option.map(from, (number) => ({ from: number }))
    )
    return Option.match(sender, {
      onNone: () =>
        Either.left(
          ConfigError.MissingData(["TWILIO_FROM"], "Twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
        ),
      onSome: (sender) => Either.right({ ...rest, sender, statusCallbackUrl: Option.getOrUndefined(statusCallbackUrl) })
    })
  })
)

const provider = "twilio"

/**
 * Twilio error codes that condemn the recipient rather than the request: invalid `To` (21211),
 * region not enabled (21408), unsubscribed or blocked (21610), not a mobile number (21614).
 */
const recipientErrors: ReadonlySet<number> = new Set([21211, 21408, 21610, 21614])

/** Twilio's error code, with the HTTP status, as a classification. */
export const classifyError = (status: number, code: number | undefined): Classify.Classification => {
  if (status === 429 || code === 20429) return { retryable: true, code: "rate_limited" }
  if (status >= 500) return Classify.classifyStatus(status)
  if (code !== undefined && recipientErrors.has(code)) return { retryable: false, code: "invalid_recipient" }
  if (code === 20003) return { retryable: false, code: "unauthorized" }
  return Classify.classifyStatus(status)
}

const Created = Schema.Struct({ sid: Schema.String })
const decodeCreated = Schema.decodeUnknownOption(Created)

const ErrorBody = Schema.Struct({
  code: Schema.optional(Schema.NullOr(Schema.Number)),
  message: Schema.optional(Schema.NullOr(Schema.String))
})
const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

/** Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{sid}/Messages.json`. */
export const make = (options: TwilioConfig): Effect.Effect<ChannelProvider<"sms">, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const url = `${options.baseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`
    const sender: Record<string, string> =
      "from" in options.sender
        ? { From: options.sender.from }
        : { MessagingServiceSid: options.sender.messagingServiceSid }
    const callback: Record<string, string> =
      options.statusCallbackUrl === undefined ? {} : { StatusCallback: options.statusCallbackUrl }

    const send = (message: SmsMessage): Effect.Effect<Receipt, ProviderError> =>
      Effect.gen(function* () {
        const request = HttpClientRequest.post(url).pipe(
          HttpClientRequest.basicAuth(options.accountSid, options.authToken),
          HttpClientRequest.acceptJson,
          HttpClientRequest.setHeader("I-Twilio-Idempotency-Token", message.idempotencyKey),
          HttpClientRequest.bodyUrlParams({ To: message.to, ...sender, Body: message.body, ...callback })
        )
        const response = yield* Effect.mapError(client.execute(request), (error) =>
          Classify.fromHttpClientError(provider, error)
        )
        if (Classify.isSuccess(response)) {
          // Accepted is accepted: an unreadable body must not turn into a retry that sends twice.
          const body = yield* Classify.readBody(response)
          const sid = Option.match(decodeCreated(body), { onNone: () => message.idempotencyKey, onSome: (m) => m.sid })
          return { provider, messageId: sid }
        }
        return yield* Effect.flip(failure(response))
      })

    return { name: provider, channel: "sms", send }
  })

const failure = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<ProviderError> =>
  Effect.flatMap(Classify.readBody(response), (body) => {
    const decoded = Option.getOrUndefined(decodeErrorBody(body))
    const code = decoded?.code ?? undefined
    const detail = decoded?.message ?? (typeof body === "string" && body !== "" ? body : "Twilio refused the message")
    return Classify.fromResponse(provider, response, {
      message: code === undefined ? detail : `Twilio ${code}: ${detail}`,
      classification: classifyError(response.status, code)
    })
  })
