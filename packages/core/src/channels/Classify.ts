import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { ProviderError } from "./Provider.js"

/** Whether a failure is worth another attempt, and its short machine-readable cause. */
export interface Classification {
  readonly retryable: boolean
  readonly code: string
}

// RFC 9110 allows three HTTP-date forms; all of them begin with a day name. Requiring it keeps
// Date.parse, which reads almost anything ("1.5" is a date to V8), from inventing a delay.
const httpDate = /^[A-Za-z]{3,9},? /

/**
 * `Retry-After` as a delay from `now` (epoch millis): delay-seconds or an HTTP-date, a date in
 * the past being no delay. Anything else is ignored rather than guessed at.
 */
export const parseRetryAfter = (header: string | undefined, now: number): Duration.Duration | undefined => {
  if (header === undefined) return undefined
  const value = header.trim()
  if (/^\d+$/.test(value)) return Duration.seconds(Number(value))
  if (!httpDate.test(value)) return undefined
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Duration.millis(Math.max(0, at - now))
}

/**
 * What an HTTP status says about the request. 408, 429 and 5xx are the server's trouble and may
 * pass on a later attempt (or with another provider); any other 4xx would be refused again.
 */
export const classifyStatus = (status: number): Classification => {
  if (status === 408) return { retryable: true, code: "timeout" }
  if (status === 429) return { retryable: true, code: "rate_limited" }
  if (status >= 500) return { retryable: true, code: "server_error" }
  switch (status) {
    case 400:
    case 422:
      return { retryable: false, code: "invalid_request" }
    case 401:
      return { retryable: false, code: "unauthorized" }
    case 403:
      return { retryable: false, code: "forbidden" }
    case 404:
      return { retryable: false, code: "not_found" }
    case 413:
      return { retryable: false, code: "payload_too_large" }
  }
  if (status >= 400) return { retryable: false, code: "rejected" }
  // A redirect or an informational answer from an API endpoint means a misconfigured base URL,
  // which no retry mends.
  return { retryable: false, code: "unexpected_status" }
}

/** The `code` (or `name`) of an error or of any error in its `cause` chain, outermost first. */
const errorCodes = (error: unknown): ReadonlyArray<string> => {
  const codes: Array<string> = []
  let current = error
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    if ("code" in current && typeof current.code === "string") codes.push(current.code)
    if ("name" in current && typeof current.name === "string") codes.push(current.name)
    current = "cause" in current ? current.cause : undefined
  }
  return codes
}

const isTimeout = (error: unknown): boolean => errorCodes(error).some((code) => /TIMEOUT|TIMEDOUT/i.test(code))

/**
 * A transport failure: the request may or may not have reached the provider, so it is retried
 * (providers that take an idempotency key make that safe).
 */
export const classifyTransport = (cause: unknown): Classification =>
  isTimeout(cause) ? { retryable: true, code: "timeout" } : { retryable: true, code: "connection" }

/** An `HttpClient` failure that came before any usable answer. */
export const fromHttpClientError = (provider: string, error: HttpClientError.HttpClientError): ProviderError => {
  if (error._tag === "RequestError") {
    // An unencodable body or an invalid URL is our own (configuration) mistake: retrying repeats it.
    const classification =
      error.reason === "Transport" ? classifyTransport(error.cause) : { retryable: false, code: "invalid_request" }
    return new ProviderError({ provider, ...classification, message: error.message })
  }
  return new ProviderError({ provider, ...classifyStatus(error.response.status), message: error.message })
}

// Error pages (an HTML 502 from a proxy) can be long; the message is stored with the notification.
const maxDetail = 500

/**
 * A failed answer as a `ProviderError`: the classification defaults to the status's, and the
 * provider's `Retry-After` is kept whatever the status (503s carry it too).
 */
export const fromResponse = (
  provider: string,
  response: HttpClientResponse.HttpClientResponse,
  detail: { readonly message: string; readonly classification?: Classification | undefined }
): Effect.Effect<ProviderError> =>
  Effect.map(Clock.currentTimeMillis, (now) => {
    const retryAfter = parseRetryAfter(response.headers["retry-after"], now)
    return new ProviderError({
      provider,
      ...(detail.classification ?? classifyStatus(response.status)),
      message: `${response.status}: ${detail.message.length > maxDetail ? `${detail.message.slice(0, maxDetail)}…` : detail.message}`,
      ...(retryAfter === undefined ? {} : { retryAfter })
    })
  })

/**
 * An answer's body as JSON when it is JSON, else its text (undefined when unreadable). Never
 * fails: the status alone decides the outcome, the body only adds detail.
 */
export const readBody = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<unknown> =>
  response.text.pipe(
    Effect.map((text) => {
      try {
        return JSON.parse(text) as unknown
      } catch {
        return text
      }
    }),
    Effect.orElseSucceed(() => undefined)
  )

/** An answer's status is 2xx. */
export const isSuccess = (response: HttpClientResponse.HttpClientResponse): boolean =>
  response.status >= 200 && response.status < 300
