import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** A request as the provider's API would have received it. */
export interface RecordedRequest {
  readonly method: string
  /** Path and query. */
  readonly url: string
  /** Lower-cased names, as Node reports them. */
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

export interface ScriptedResponse {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** A string is sent as is; anything else as JSON. */
  readonly body?: unknown
}

export interface Recorder {
  /** `http://127.0.0.1:<port>`, to use as the provider's base URL. */
  readonly baseUrl: string
  readonly requests: ReadonlyArray<RecordedRequest>
  /** Queues answers, one per coming request, in order. */
  readonly respond: (...responses: ReadonlyArray<ScriptedResponse>) => void
}

/**
 * A local HTTP server on a random port that records every request and answers from a script.
 * An unscripted request gets a 599, so that a test that forgot one fails loudly.
 */
export const make: Effect.Effect<Recorder, never, Scope.Scope> = Effect.gen(function* () {
  const requests: Array<RecordedRequest> = []
  const script: Array<ScriptedResponse> = []
  const server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      requests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8")
      })
      const answer = script.shift() ?? { status: 599, body: "no scripted response" }
      const json = answer.body !== undefined && typeof answer.body !== "string"
      res.writeHead(answer.status, {
        ...(json ? { "content-type": "application/json" } : {}),
        ...answer.headers
      })
      res.end(answer.body === undefined ? undefined : json ? JSON.stringify(answer.body) : answer.body)
    })
  })
  const port = yield* Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
    }),
    () =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    respond: (...responses) => {
      script.push(...responses)
    }
  }
})

/** A port nothing listens on: bound, then released. */
export const closedPort: Effect.Effect<number> = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})
