import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { openApiDocument, renderOpenApi } from "@notification-service/domain"

describe("OpenAPI document", () => {
  it("the committed docs/api/openapi.json is the generated one (run `npm run openapi`)", () => {
    const committed = readFileSync(new URL("../docs/api/openapi.json", import.meta.url), "utf8")
    expect(committed).toBe(renderOpenApi())
  })

  it("documents every v1 operation with bearer security and problem details", () => {
    const spec = openApiDocument()
    const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(
        item as Record<string, { operationId?: string; security?: unknown; responses: Record<string, unknown> }>
      ).map(([method, operation]) => ({ path, method, operation }))
    )
    expect(operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort()).toEqual(
      [
        "POST /api/v1/notifications/send",
        "GET /api/v1/notifications/{id}",
        "GET /api/v1/notifications/user/{user_id}",
        "PUT /api/v1/notifications/{id}/status",
        "GET /api/v1/templates",
        "POST /api/v1/templates",
        "GET /api/v1/templates/{id}",
        "PUT /api/v1/templates/{id}",
        "DELETE /api/v1/templates/{id}",
        "GET /api/v1/preferences/user/{user_id}",
        "PUT /api/v1/preferences/user/{user_id}"
      ].sort()
    )
    for (const { operation } of operations) {
      expect(operation.security).toEqual([{ bearer: [] }])
      for (const status of ["400", "401", "403", "413", "415", "429"]) {
        expect(Object.keys(operation.responses)).toContain(status)
      }
    }
    expect(spec.components.securitySchemes).toMatchObject({ bearer: { type: "http", scheme: "bearer" } })
    expect(JSON.stringify(spec)).not.toContain("HttpApiDecodeError")
  })
})
