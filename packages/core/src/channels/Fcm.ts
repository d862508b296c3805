import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Classify from "./Classify.js"
import type { ChannelProvider, ProviderError, PushMessage, Receipt } from "./Provider.js"

export interface FcmConfig {
  readonly projectId: string
  /** An OAuth 2 access token with the `firebase.messaging` scope. */
  readonly accessToken: Redacted.Redacted
  readonly baseUrl: string
}

export const config: Config.Config<FcmConfig> = Config.all({
  projectId: Config.string("FCM_PROJECT_ID"),
  accessToken: Config.redacted("FCM_ACCESS_TOKEN"),
  baseUrl: Config.string("FCM_BASE_URL").pipe(Config.withDefault("https://fcm.googleapis.com"))
})

const provider = "fcm"

const fcmErrorType = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    message: Schema.optional(Schema.String),
    status: Schema.optional(Schema.String),
    details: Schema.optional(
      Schema.Array(Schema.Struct({ "@type": Schema.String, errorCode: Schema.optional(Schema.String) }))
    )
  })
})
const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

const Sent = Schema.Struct({ name: Schema.String })
const decodeSent = Schema.decodeUnknownOption(Sent)

/**
 * FCM's `errorCode` (from the `FcmError` detail; the HTTP status when there is none) as a
 * classification. `invalid_token` tells the caller the device token is dead, not just this send.
 */
export const classifyError = (
  status: number,
  errorCode: string | undefined,
  message: string
): Classify.Classification => {
  switch (errorCode) {
    case "UNREGISTERED":
      return { retryable: false, code: "invalid_token" }
    case "INVALID_ARGUMENT":
      // The same code covers any malformed field; only a bad token condemns the device.
      return /token/i.test(message)
        ? { retryable: false, code: "invalid_token" }
        : { retryable: false, code: "invalid_request" }
    case "SENDER_ID_MISMATCH":
      return { retryable: false, code: "sender_id_mismatch" }
    case "QUOTA_EXCEEDED":
      return { retryable: true, code: "rate_limited" }
    case "UNAVAILABLE":
    case "INTERNAL":
      return { retryable: true, code: "server_error" }
    case "THIRD_PARTY_AUTH_ERROR":
      // APNs or web-push credentials are wrong: every push to that platform would fail alike.
      return { retryable: false, code: "unauthorized" }
  }
  return Classify.classifyStatus(status)
}

/** Firebase Cloud Messaging HTTP v1: `POST /v1/projects/{project}/messages:send`. */
export const make = (options: FcmConfig): Effect.Effect<ChannelProvider<"push">, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/projects/${encodeURIComponent(options.projectId)}/messages:send`

    const send = (message: PushMessage): Effect.Effect<Receipt, ProviderError> =>
      Effect.gen(function* () {
        const request = HttpClientRequest.post(url).pipe(
          HttpClientRequest.bearerToken(options.accessToken),
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUnsafeJson({
            message: {
              token: message.token,
              notification:
                message.title === null ? { body: message.body } : { title: message.title, body: message.body },
              // The app reads the id back from the payload, e.g. to report the push as opened.
              data: { ...message.data, notification_id: message.idempotencyKey }
            }
          })
        )
        const response = yield* Effect.mapError(client.execute(request), (error) =>
          Classify.fromHttpClientError(provider, error)
        )
        if (Classify.isSuccess(response)) {
          // Accepted is accepted: an unreadable body must not turn into a retry that pushes twice.
          const body = yield* Classify.readBody(response)
          const name = Option.match(decodeSent(body), { onNone: () => message.idempotencyKey, onSome: (m) => m.name })
          return { provider, messageId: name }
        }
        return yield* Effect.flip(failure(response))
      })

    return { name: provider, channel: "push", send }
  })

const failure = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<ProviderError> =>
  Effect.flatMap(Classify.readBody(response), (body) => {
    const error = Option.getOrUndefined(Option.map(decodeErrorBody(body), (decoded) => decoded.error))
    const errorCode = error?.details?.find((detail) => detail["@type"] === fcmErrorType)?.errorCode
    const detail = error?.message ?? (typeof body === "string" && body !== "" ? body : "FCM refused the message")
    const reason = errorCode ?? error?.status
    return Classify.fromResponse(provider, response, {
      message: reason === undefined ? detail : `${reason}: ${detail}`,
      classification: classifyError(response.status, errorCode, detail)
    })
  })
