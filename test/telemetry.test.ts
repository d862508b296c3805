import { createServer, type Server } from "node:http"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { keys, raw, testServer } from "./support/server.js"

interface ExportedSpan {
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId?: string
  readonly name: string
  readonly kind: number
}

/** A minimal OTLP/HTTP receiver: collects the JSON span batches the exporter posts. */
const receiver = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly spans: Array<ExportedSpan>; readonly server: Server }>((resume) => {
    const spans: Array<ExportedSpan> = []
    const server = createServer((request, response) => {
      let body = ""
      request.on("data", (chunk) => {
        body += chunk
      })
      request.on("end", () => {
        if (request.url === "/v1/traces") {
          const batch = JSON.parse(body) as {
            resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<ExportedSpan> }> }>
          }
          for (const resource of batch.resourceSpans) {
            for (const scope of resource.scopeSpans) spans.push(...scope.spans)
          }
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, spans, server }))
    })
  }),
  ({ server }) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

const toHex = (id: string) => (/^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, "base64").toString("hex"))

describe("tracing", () => {
  it.live(
    "exports a server span joined to the caller's traceparent, with a span per SQL statement",
    () =>
      Effect.gen(function* () {
        const otlp = yield* receiver
        const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
        const parentId = "00f067aa0ba902b7"
        yield* Effect.gen(function* () {
          const response = yield* raw("/api/v1/templates?limit=1", {
            headers: { authorization: `Bearer ${keys.admin}`, traceparent: `00-${traceId}-${parentId}-01` }
          })
          expect(response.status).toBe(200)
        }).pipe(Effect.provide(testServer({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url })), Effect.scoped)

        // The SDK flushes on shutdown, which the scope above just ran.
        const inTrace = otlp.spans.filter((span) => toHex(span.traceId) === traceId)
        const server = inTrace.find((span) => span.kind === 2)
        expect(server?.name).toBe("http.server GET")
        expect(toHex(server?.parentSpanId ?? "")).toBe(parentId)
        expect(inTrace.some((span) => span.name === "TemplateRepo.list")).toBe(true)
        expect(inTrace.some((span) => span.name === "sql.execute")).toBe(true)
      }).pipe(Effect.scoped),
    { timeout: 30_000 }
  )
})
