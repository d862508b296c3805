import {
  FileSystem,
  HttpApiBuilder,
  HttpApiError,
  HttpApp,
  HttpIncomingMessage,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { RouteNotFound } from "@effect/platform/HttpServerError"
import {
  type ApiProblem,
  BadRequest,
  NotFound,
  NotificationApi,
  PayloadTooLarge,
  Unauthorized,
  UnsupportedMediaType
} from "@notification-service/domain"
import { HttpConfig } from "@notification-service/core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { problemResponse } from "./Problems.js"
import { makeRateLimit } from "./RateLimit.js"

const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * Reads the body once, before the endpoint does, so that size, media type and JSON syntax fail
 * as 413, 415 and 400 problems. The platform caches the text, so the endpoint reuses it.
 */
const guardBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function* () {
    if (request.method !== "POST" && request.method !== "PUT" && request.method !== "PATCH") return
    const contentType = request.headers["content-type"] ?? ""
    if (!jsonMediaType.test(contentType)) {
      return yield* new UnsupportedMediaType({
        detail: `Request bodies must be application/json, not '${contentType || "(none)"}'.`
      })
    }
    const tooLarge = new PayloadTooLarge({ detail: `Request bodies are limited to ${maxBytes} bytes.` })
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBytes) return yield* tooLarge
    const text = yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(FileSystem.Size(maxBytes))),
      Effect.mapError(() => tooLarge)
    )
    yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) =>
        new BadRequest({
          detail: "The request body is not valid JSON.",
          errors: [{ path: "", message: error instanceof Error ? error.message : "invalid JSON" }]
        })
    })
  })

const fromDecodeError = (error: HttpApiError.HttpApiDecodeError): BadRequest =>
  new BadRequest({
    detail: "The request does not match the API's schema.",
    errors: error.issues.map((issue) => ({
      path: issue.path.map(String).join("."),
      message: issue.message
    }))
  })

/** RFC 6750: a 401 names the scheme, and says whether a token was sent but rejected. */
const challenge = (request: HttpServerRequest.HttpServerRequest) => {
  const sentToken = (request.headers.authorization ?? "").trim().length > 0
  const value = sentToken
    ? 'Bearer realm="notification-service", error="invalid_token"'
    : 'Bearer realm="notification-service"'
  return HttpApp.appendPreResponseHandler((_request, response) =>
    Effect.succeed(HttpServerResponse.setHeader(response, "www-authenticate", value))
  )
}

const isProblem = (error: unknown): error is ApiProblem =>
  typeof error === "object" && error !== null && "detail" in error && "_tag" in error

/** RFC 9457 `instance`: the request path the problem occurred on. */
const withInstance = (error: ApiProblem, instance: string): ApiProblem => {
  if (error.instance !== undefined) return error
  const Problem = error.constructor as new (props: object) => ApiProblem
  return new Problem({ ...error, instance })
}

/**
 * API-wide middleware: guards (rate limit, body) for `/api` requests, and the translation of every
 * failure into a problem document — decode errors, unknown routes, defects (500, logged).
 */
export const ApiMiddlewareLive = HttpApiBuilder.middleware(
  NotificationApi,
  Effect.gen(function* () {
    const http = yield* HttpConfig
    const rateLimit = yield* makeRateLimit
    return (app) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const path = request.url.split("?")[0] ?? request.url
        const guarded = path.startsWith("/api/")
          ? Effect.zipRight(Effect.zipRight(rateLimit(request), guardBody(request, http.maxBodyBytes)), app)
          : app
        return yield* Effect.catchAllCause(guarded, (cause) => {
          const failure: unknown = Option.getOrUndefined(Cause.failureOption(cause))
          if (failure instanceof HttpApiError.HttpApiDecodeError) {
            return Effect.fail(withInstance(fromDecodeError(failure), path))
          }
          if (failure instanceof RouteNotFound) {
            return Effect.fail(
              withInstance(new NotFound({ resource: "route", detail: `No route ${request.method} ${path}.` }), path)
            )
          }
          if (failure instanceof Unauthorized) {
            return Effect.zipRight(challenge(request), Effect.fail(withInstance(failure, path)))
          }
          if (isProblem(failure)) return Effect.fail(withInstance(failure, path))
          if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
          return Effect.zipRight(
            Effect.logError("unhandled failure", cause),
            Effect.succeed(
              problemResponse(500, "internal", "Internal server error", "The request failed unexpectedly; it was logged.", {
                instance: path
              })
            )
          )
        })
        // The middleware's type admits only API-level errors, but the encoder it feeds knows every
        // error any endpoint declares, so endpoint problems (re-raised with `instance`) encode too.
      }) as Effect.Effect<HttpServerResponse.HttpServerResponse, never>
  }),
  { withContext: true }
)
