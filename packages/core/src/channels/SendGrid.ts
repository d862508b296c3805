import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Classify from "./Classify.js"
import type { ChannelProvider, EmailMessage, ProviderError, Receipt } from "./Provider.js"

export interface SendGridConfig {
  readonly apiKey: Redacted.Redacted
  /** `"Name <address>"` or a bare address. */
  readonly from: string
  readonly baseUrl: string
}

export const config: Config.Config<SendGridConfig> = Config.all({
  apiKey: Config.redacted("SENDGRID_API_KEY"),
  from: Config.string("EMAIL_FROM"),
  baseUrl: Config.string("SENDGRID_BASE_URL").pipe(Config.withDefault("https://api.sendgrid.com"))
})

const provider = "sendgrid"

export interface Mailbox {
  readonly email: string
  readonly name?: string
}

/** `"Bambu <no-reply@bambu.example>"` as SendGrid's `{ email, name }`; SendGrid takes no address string. */
export const parseMailbox = (address: string): Mailbox => {
  const match = /^\s*(.*?)\s*<([^<>]+)>\s*$/.exec(address)
  if (match === null) return { email: address.trim() }
  const name = (match[1] ?? "").replace(/^"(.*)"$/, "$1").trim()
  const email = (match[2] ?? "").trim()
  return name === "" ? { email } : { email, name }
}

const ErrorBody = Schema.Struct({
  errors: Schema.Array(
    Schema.Struct({
      message: Schema.optional(Schema.NullOr(Schema.String)),
      field: Schema.optional(Schema.NullOr(Schema.String))
    })
  )
})
const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

/**
 * SendGrid v3 `mail/send`. It takes no idempotency key, so the notification id travels as a
 * custom arg and a header, which its event webhook and the delivered mail carry back.
 */
export const make = (options: SendGridConfig): Effect.Effect<ChannelProvider<"email">, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const from = parseMailbox(options.from)
    const url = `${options.baseUrl.replace(/\/+$/, "")}/v3/mail/send`

    const send = (message: EmailMessage): Effect.Effect<Receipt, ProviderError> =>
      Effect.gen(function* () {
        const request = HttpClientRequest.post(url).pipe(
          HttpClientRequest.bearerToken(options.apiKey),
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUnsafeJson({
            personalizations: [{ to: [{ email: message.to }] }],
            from,
            subject: message.subject,
            // SendGrid insists on text/plain before text/html.
            content: [
              { type: "text/plain", value: message.text },
              ...(message.html === null ? [] : [{ type: "text/html", value: message.html }])
            ],
            custom_args: { notification_id: message.idempotencyKey },
            headers: { "X-Notification-Id": message.idempotencyKey }
          })
        )
        const response = yield* Effect.mapError(client.execute(request), (error) =>
          Classify.fromHttpClientError(provider, error)
        )
        if (Classify.isSuccess(response)) {
          // 202 has an empty body; the id is only in the header. Without one the mail was still
          // accepted, and failing now would make the caller send it again.
          return { provider, messageId: response.headers["x-message-id"] ?? message.idempotencyKey }
        }
        return yield* Effect.flip(failure(response))
      })

    return { name: provider, channel: "email", send }
  })

const failure = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<ProviderError> =>
  Effect.flatMap(Classify.readBody(response), (body) => {
    const errors = Option.match(decodeErrorBody(body), { onNone: () => [], onSome: (decoded) => decoded.errors })
    const message =
      errors.length > 0
        ? errors
            .map((error) => (error.field ? `${error.field}: ${error.message ?? ""}` : (error.message ?? "")))
            .join("; ")
        : typeof body === "string" && body !== ""
          ? body
          : "SendGrid refused the message"
    // A 400 about the recipient's address is the recipient's fault, not the request's shape.
    const aboutRecipient = errors.some((error) => /^personalizations\.\d+\.to\b/.test(error.field ?? ""))
    return Classify.fromResponse(provider, response, {
      message,
      classification:
        response.status === 400 && aboutRecipient ? { retryable: false, code: "invalid_recipient" } : undefined
    })
  })
