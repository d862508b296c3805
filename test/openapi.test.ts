import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { renderOpenApi } from "@notification-service/domain"

describe("OpenAPI document", () => {
  it("the committed docs/api/openapi.json is the generated one (run `npm run openapi`)", () => {
    const committed = readFileSync(new URL("../docs/api/openapi.json", import.meta.url), "utf8")
    expect(committed).toBe(renderOpenApi())
  })
})
