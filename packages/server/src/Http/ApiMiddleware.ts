import type { IncomingMessage } from "node:http"
import { HttpApiBuilder, HttpApiError, HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { RouteNotFound } from "@effect/platform/HttpServerError"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { HttpConfig } from "@notification-service/core"
import {
  type ApiProblem,
  BadRequest,
  NotFound,
  NotificationApi,
  PayloadTooLarge,
  Unauthorized,
  UnsupportedMediaType
} from "@notification-service/domain"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { problemResponse } from "./Problems.js"
import { makeRateLimit } from "./RateLimit.js"

const jsonMediaType = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

const hasBody = (method: string) => method === "POST" || method === "PUT" || method === "PATCH"

/**
 * Reads at most `maxBytes` of the body. Past the cap it stops collecting but lets the rest drain
 * (the platform's own cap destroys the socket, so the client would never see the 413).
 */
const readBounded = (incoming: IncomingMessage, maxBytes: number, tooLarge: PayloadTooLarge) =>
  Effect.async<string, PayloadTooLarge | BadRequest>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) return void chunks.push(chunk)
      cleanup()
      incoming.resume()
      resume(Effect.fail(tooLarge))
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = () => {
      cleanup()
      resume(Effect.fail(new BadRequest({ detail: "The request body could not be read." })))
    }
    incoming.on("data", onData)
    incoming.once("end", onEnd)
    incoming.once("error", onError)
    return Effect.sync(cleanup)
  })

/**
 * `__proto__` is a legal JSON key, but decoding it into an object sets the object's prototype:
 * the value would vanish from the stored data and surface as inherited properties instead.
 */
const refuseProtoKeys = (key: string, value: unknown): unknown => {
  if (key === "__proto__") {
    throw new BadRequest({
      detail: "Keys named __proto__ are not accepted.",
      errors: [{ path: key, message: "reserved key" }]
    })
  }
  return value
}

/** The request as the endpoint will see it: its body already read (and known to be JSON). */
const withBody = (request: HttpServerRequest.HttpServerRequest, text: string, parsed: unknown) =>
  new Proxy(request, {
    get: (target, property, receiver) =>
      property === "text"
        ? Effect.succeed(text)
        : property === "json"
          ? Effect.succeed(parsed)
          : Reflect.get(target, property, receiver)
  })

const closeConnection = HttpApp.appendPreResponseHandler((_request, response) =>
  Effect.succeed(HttpServerResponse.setHeader(response, "connection", "close"))
)

/**
 * Size, media type and JSON syntax of request bodies fail as 413, 415 and 400 problems before any
 * endpoint runs; the endpoint then decodes the body this guard already read.
 */
const guardBody = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.gen(function* () {
    if (!hasBody(request.method)) return request
    const contentType = request.headers["content-type"] ?? ""
    if (!jsonMediaType.test(contentType)) {
      return yield* new UnsupportedMediaType({
        detail: `Request bodies must be application/json, not '${contentType || "(none)"}'.`
      })
    }
    const tooLarge = new PayloadTooLarge({ detail: `Request bodies are limited to ${maxBytes} bytes.` })
    const declared = Number(request.headers["content-length"] ?? "0")
    if (declared > maxBytes) return yield* Effect.zipRight(closeConnection, Effect.fail(tooLarge))
    const text = yield* readBounded(NodeHttpServerRequest.toIncomingMessage(request), maxBytes, tooLarge).pipe(
      Effect.tapError(() => closeConnection)
    )
    const parsed = yield* Effect.try({
      try: () => JSON.parse(text, refuseProtoKeys) as unknown,
      catch: (error) =>
        error instanceof BadRequest
          ? error
          : new BadRequest({
              detail: "The request body is not valid JSON.",
              errors: [{ path: "", message: error instanceof Error ? error.message : "invalid JSON" }]
            })
    })
    return withBody(request, text, parsed)
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
          ? rateLimit(request).pipe(
              Effect.zipRight(guardBody(request, http.maxBodyBytes)),
              Effect.flatMap((checked) => Effect.provideService(app, HttpServerRequest.HttpServerRequest, checked))
            )
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
              problemResponse(
                500,
                "internal",
                "Internal server error",
                "The request failed unexpectedly; it was logged.",
                {
                  instance: path
                }
              )
            )
          )
        })
        // The middleware's type admits only API-level errors, but the encoder it feeds knows every
        // error any endpoint declares, so endpoint problems (re-raised with `instance`) encode too.
      }) as Effect.Effect<HttpServerResponse.HttpServerResponse, never>
  }),
  { withContext: true }
)
