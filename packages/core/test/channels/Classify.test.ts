import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import { classifyStatus, classifyTransport, fromHttpClientError, parseRetryAfter } from "../../src/channels/Classify.js"

const millis = (duration: Duration.Duration | undefined) =>
  duration === undefined ? undefined : Duration.toMillis(duration)

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-06-01T12:00:00Z")

  it("reads delay-seconds", () => {
    expect(millis(parseRetryAfter("120", now))).toBe(120_000)
    expect(millis(parseRetryAfter(" 0 ", now))).toBe(0)
  })

  it("reads an HTTP-date as the time left until it, a past date as no delay", () => {
    expect(millis(parseRetryAfter("Sun, 01 Jun 2025 12:00:30 GMT", now))).toBe(30_000)
    // The obsolete RFC 850 and asctime forms are still allowed of senders.
    expect(millis(parseRetryAfter("Sunday, 01-Jun-25 12:01:00 GMT", now))).toBe(60_000)
    expect(millis(parseRetryAfter("Sun Jun  1 12:00:10 2025", now))).toBe(10_000)
    expect(millis(parseRetryAfter("Sun, 01 Jun 2025 11:00:00 GMT", now))).toBe(0)
  })

  it("ignores what is neither", () => {
    for (const header of [undefined, "", "soon", "-5", "1.5", "12abc", "Sun, 99 Foo 2025"]) {
      expect(parseRetryAfter(header, now), String(header)).toBeUndefined()
    }
  })
})

describe("classifyStatus", () => {
  it("retries 408, 429 and 5xx; refuses other 4xx for good", () => {
    const table = [200, 302, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504].map((status) => ({
      status,
      ...classifyStatus(status)
    }))
    expect(table).toEqual([
      { status: 200, retryable: false, code: "unexpected_status" },
      { status: 302, retryable: false, code: "unexpected_status" },
      { status: 400, retryable: false, code: "invalid_request" },
      { status: 401, retryable: false, code: "unauthorized" },
      { status: 403, retryable: false, code: "forbidden" },
      { status: 404, retryable: false, code: "not_found" },
      { status: 408, retryable: true, code: "timeout" },
      { status: 409, retryable: false, code: "rejected" },
      { status: 413, retryable: false, code: "payload_too_large" },
      { status: 422, retryable: false, code: "invalid_request" },
      { status: 429, retryable: true, code: "rate_limited" },
      { status: 500, retryable: true, code: "server_error" },
      { status: 502, retryable: true, code: "server_error" },
      { status: 503, retryable: true, code: "server_error" },
      { status: 504, retryable: true, code: "server_error" }
    ])
  })
})

describe("transport errors", () => {
  const request = HttpClientRequest.post("https://api.example/v1/send")

  it("tells timeouts from other connection trouble, however deep the code is", () => {
    expect(classifyTransport(Object.assign(new Error("x"), { code: "UND_ERR_CONNECT_TIMEOUT" }))).toEqual({
      retryable: true,
      code: "timeout"
    })
    const wrapped = new TypeError("fetch failed", { cause: Object.assign(new Error("y"), { code: "ETIMEDOUT" }) })
    expect(classifyTransport(wrapped).code).toBe("timeout")
    expect(classifyTransport(new DOMException("The operation timed out", "TimeoutError")).code).toBe("timeout")
    expect(classifyTransport(Object.assign(new Error("z"), { code: "ECONNREFUSED" }))).toEqual({
      retryable: true,
      code: "connection"
    })
    expect(classifyTransport("something odd")).toEqual({ retryable: true, code: "connection" })
  })

  it("retries transport failures; an invalid URL or body is permanent", () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })
    const transport = fromHttpClientError(
      "p",
      new HttpClientError.RequestError({ request, reason: "Transport", cause: reset })
    )
    expect({ provider: transport.provider, retryable: transport.retryable, code: transport.code }).toEqual({
      provider: "p",
      retryable: true,
      code: "connection"
    })
    const invalid = fromHttpClientError("p", new HttpClientError.RequestError({ request, reason: "InvalidUrl" }))
    expect({ retryable: invalid.retryable, code: invalid.code }).toEqual({ retryable: false, code: "invalid_request" })
  })

  it("classifies a response error by its status", () => {
    const response = HttpClientResponse.fromWeb(request, new Response(null, { status: 503 }))
    const error = fromHttpClientError(
      "p",
      new HttpClientError.ResponseError({ request, response, reason: "StatusCode" })
    )
    expect({ retryable: error.retryable, code: error.code }).toEqual({ retryable: true, code: "server_error" })
  })
})
