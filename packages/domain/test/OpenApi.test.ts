import { OpenApi } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { NotificationApi, withoutBuiltinDecodeError } from "@notification-service/domain"

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
const json = (schema: unknown) => ({ "application/json": { schema } })

/** A small document in the shape `OpenApi.fromApi` produces before the transform. */
const handMadeSpec = () => ({
  openapi: "3.1.0",
  info: { title: "t", version: "1" },
  paths: {
    "/things": {
      post: {
        requestBody: {
          content: json({ oneOf: [ref("ThingInput"), ref("HttpApiDecodeError")] })
        },
        responses: {
          "200": { description: "Thing", content: json(ref("Thing")) },
          "400": {
            description: "Error",
            content: json({ anyOf: [ref("BadRequestProblem"), ref("HttpApiDecodeError")] })
          },
          "409": {
            description: "Error",
            content: json({ anyOf: [ref("ConflictProblem"), ref("InvalidTransitionProblem")] })
          },
          "418": {
            description: "Mixed",
            content: json({ anyOf: [ref("ConflictProblem"), ref("Thing")] })
          },
          "500": {
            description: "Mixed after pruning",
            content: json({ anyOf: [ref("HttpApiDecodeError"), ref("Thing"), ref("NotFoundProblem")] })
          }
        }
      }
    },
    "/things/{id}": {
      get: {
        responses: {
          "404": {
            description: "Already problem+json",
            content: { "application/problem+json": { schema: ref("NotFoundProblem") } }
          },
          "422": { description: "Untitled problem", content: json(ref("UntitledProblem")) }
        }
      }
    }
  },
  components: {
    schemas: {
      Thing: { type: "object", properties: { id: { type: "string" } } },
      ThingInput: { type: "object" },
      BadRequestProblem: { type: "object", title: "Bad request" },
      ConflictProblem: { type: "object", title: "Conflict" },
      InvalidTransitionProblem: { type: "object", title: "Invalid status transition" },
      NotFoundProblem: { type: "object", title: "Not found" },
      UntitledProblem: { type: "object" },
      HttpApiDecodeError: { type: "object", properties: { issues: { type: "array", items: ref("Issue") } } },
      Issue: { type: "object", properties: { path: { type: "array", items: ref("PropertyKey") } } },
      PropertyKey: { anyOf: [{ type: "string" }, { type: "number" }] }
    }
  }
})

describe("withoutBuiltinDecodeError on a hand-made document", () => {
  const result = withoutBuiltinDecodeError(handMadeSpec())
  const text = JSON.stringify(result)

  it("removes every reference to HttpApiDecodeError and the component with its helpers", () => {
    expect(JSON.stringify(handMadeSpec())).toContain("HttpApiDecodeError")
    expect(text).not.toContain("HttpApiDecodeError")
    expect(Object.keys(result.components as { schemas: object }).sort()).toEqual(["schemas"])
    expect(Object.keys((result.components as { schemas: object }).schemas).sort()).toEqual([
      "BadRequestProblem",
      "ConflictProblem",
      "InvalidTransitionProblem",
      "NotFoundProblem",
      "Thing",
      "ThingInput",
      "UntitledProblem"
    ])
  })

  it("collapses a one-element anyOf to its member and moves an all-problem response to problem+json", () => {
    expect(result).toMatchObject({ paths: { "/things": { post: { responses: {} } } } })
    const responses = handMadeResponses(result, "/things", "post")
    expect(responses["400"]).toStrictEqual({
      description: "Bad request",
      content: { "application/problem+json": { schema: ref("BadRequestProblem") } }
    })
  })

  it("collapses a one-element oneOf as well (request body)", () => {
    const post = (result.paths as Record<string, Record<string, unknown>>)["/things"]?.post
    expect(post).toMatchObject({ requestBody: { content: { "application/json": { schema: ref("ThingInput") } } } })
  })

  it("labels a response of several problems with all their titles", () => {
    expect(handMadeResponses(result, "/things", "post")["409"]).toStrictEqual({
      description: "Conflict | Invalid status transition",
      content: {
        "application/problem+json": { schema: { anyOf: [ref("ConflictProblem"), ref("InvalidTransitionProblem")] } }
      }
    })
  })

  it("leaves responses that mix problems and other schemas as application/json", () => {
    const responses = handMadeResponses(result, "/things", "post")
    expect(responses["418"]).toStrictEqual({
      description: "Mixed",
      content: json({ anyOf: [ref("ConflictProblem"), ref("Thing")] })
    })
    // HttpApiDecodeError is dropped; two members remain, so anyOf stays.
    expect(responses["500"]).toStrictEqual({
      description: "Mixed after pruning",
      content: json({ anyOf: [ref("Thing"), ref("NotFoundProblem")] })
    })
    expect(responses["200"]).toStrictEqual({ description: "Thing", content: json(ref("Thing")) })
  })

  it("keeps an existing problem+json response and takes its title; keeps the description of an untitled problem", () => {
    const responses = handMadeResponses(result, "/things/{id}", "get")
    expect(responses["404"]).toStrictEqual({
      description: "Not found",
      content: { "application/problem+json": { schema: ref("NotFoundProblem") } }
    })
    expect(responses["422"]).toStrictEqual({
      description: "Untitled problem",
      content: { "application/problem+json": { schema: ref("UntitledProblem") } }
    })
  })

  it("collapses anyOf/oneOf only when one member is left", () => {
    const out = withoutBuiltinDecodeError({
      components: {
        schemas: {
          A: { anyOf: [{ type: "string" }], description: "kept" },
          B: { anyOf: [{ type: "string" }, { type: "number" }] },
          C: { oneOf: [ref("HttpApiDecodeError"), { type: "boolean" }] }
        }
      }
    })
    expect(out).toStrictEqual({
      components: {
        schemas: {
          A: { type: "string", description: "kept" },
          B: { anyOf: [{ type: "string" }, { type: "number" }] },
          C: { type: "boolean" }
        }
      }
    })
  })

  it("does not modify its input", () => {
    const input = handMadeSpec()
    withoutBuiltinDecodeError(input)
    expect(input).toStrictEqual(handMadeSpec())
  })

  it("is idempotent", () => {
    expect(withoutBuiltinDecodeError(result)).toStrictEqual(result)
  })

  it("copes with a document without paths or components", () => {
    expect(withoutBuiltinDecodeError({ openapi: "3.1.0" })).toStrictEqual({ openapi: "3.1.0" })
  })
})

const handMadeResponses = (
  spec: Record<string, unknown>,
  path: string,
  method: string
): Record<string, Record<string, unknown>> => {
  const operation = (
    spec.paths as Record<string, Record<string, { responses: Record<string, Record<string, unknown>> }>>
  )[path]?.[method]
  if (operation === undefined) throw new Error(`no ${method} ${path}`)
  return operation.responses
}

// ---------------------------------------------------------------------------------------------
// The real document
// ---------------------------------------------------------------------------------------------

interface Response {
  readonly description?: string
  readonly content?: Record<string, { readonly schema?: unknown }>
}
interface Operation {
  readonly operationId?: string
  readonly security?: unknown
  readonly responses: Record<string, Response>
}

const spec: unknown = JSON.parse(JSON.stringify(OpenApi.fromApi(NotificationApi)))
const doc = spec as {
  readonly paths: Record<string, Record<string, Operation>>
  readonly components: {
    readonly schemas: Record<string, { readonly title?: string }>
    readonly securitySchemes?: Record<string, unknown>
  }
}
const httpMethods = new Set(["get", "put", "post", "delete", "patch", "head", "options", "trace"])
const operations: ReadonlyArray<{ readonly path: string; readonly method: string; readonly operation: Operation }> =
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => httpMethods.has(method))
      .map(([method, operation]) => ({ path, method, operation }))
  )

const refsIn = (node: unknown): ReadonlyArray<string> => {
  if (Array.isArray(node)) return node.flatMap(refsIn)
  if (node !== null && typeof node === "object") {
    return Object.entries(node).flatMap(([key, value]) =>
      key === "$ref" && typeof value === "string" ? [value] : refsIn(value)
    )
  }
  return []
}

describe("OpenApi.fromApi(NotificationApi)", () => {
  it("has the expected operations: the public ones under /api/v1, the migration's under /internal/v1/legacy", () => {
    expect(operations.map(({ path, method }) => `${method.toUpperCase()} ${path}`).sort()).toEqual(
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
        "POST /api/v1/templates/{id}/preview",
        "GET /api/v1/preferences/user/{user_id}",
        "PUT /api/v1/preferences/user/{user_id}",
        "PUT /internal/v1/legacy/templates/{legacy_id}",
        "DELETE /internal/v1/legacy/templates/{legacy_id}",
        "PUT /internal/v1/legacy/notifications/{legacy_id}",
        "PUT /internal/v1/legacy/preferences/{legacy_id}",
        "DELETE /internal/v1/legacy/preferences/{legacy_id}"
      ].sort()
    )
  })

  it("never mentions HttpApiDecodeError (nor its Issue/PropertyKey helpers)", () => {
    const text = JSON.stringify(spec)
    expect(text).not.toContain("HttpApiDecodeError")
    expect(Object.keys(doc.components.schemas)).not.toContain("Issue")
    expect(Object.keys(doc.components.schemas)).not.toContain("PropertyKey")
  })

  it("every $ref resolves to a component", () => {
    const refs = refsIn(spec)
    expect(refs.length).toBeGreaterThan(0)
    for (const target of refs) {
      expect(target.startsWith("#/components/schemas/"), target).toBe(true)
      expect(doc.components.schemas, target).toHaveProperty([target.slice("#/components/schemas/".length)])
    }
  })

  it("every operation requires the bearer scheme", () => {
    expect(doc.components.securitySchemes).toMatchObject({ bearer: { type: "http", scheme: "bearer" } })
    expect(operations.length).toBe(17)
    for (const { path, method, operation } of operations) {
      expect(operation.security, `${method} ${path}`).toStrictEqual([{ bearer: [] }])
    }
  })

  it("every 4xx/5xx response is application/problem+json of *Problem schemas, described by their titles", () => {
    let checked = 0
    for (const { path, method, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]\d\d$/.test(status)) continue
        checked++
        const where = `${method} ${path} ${status}`
        expect(Object.keys(response.content ?? {}), where).toEqual(["application/problem+json"])
        const refs = refsIn(response.content?.["application/problem+json"]?.schema)
        expect(refs.length, where).toBeGreaterThan(0)
        for (const target of refs) expect(target, where).toMatch(/Problem$/)
        const titles = refs.map((target) => doc.components.schemas[target.split("/").pop() ?? ""]?.title)
        expect(response.description, where).toBe(titles.join(" | "))
      }
    }
    expect(checked).toBeGreaterThan(operations.length * 5)
  })

  it("success responses stay application/json (or have no body)", () => {
    for (const { path, method, operation } of operations) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^2\d\d$/.test(status)) continue
        expect(Object.keys(response.content ?? {}), `${method} ${path} ${status}`).not.toContain(
          "application/problem+json"
        )
      }
    }
  })

  it("every operation declares the shared problems: 400, 401, 403, 413, 415, 429, 503", () => {
    for (const { path, method, operation } of operations) {
      for (const status of ["400", "401", "403", "413", "415", "429", "503"]) {
        expect(operation.responses, `${method} ${path}`).toHaveProperty([status])
      }
      expect(refsIn(operation.responses["400"])).toEqual(["#/components/schemas/BadRequestProblem"])
      expect(refsIn(operation.responses["401"])).toEqual(["#/components/schemas/UnauthorizedProblem"])
    }
  })

  it("endpoint-specific problems are declared where they can happen", () => {
    const find = (method: string, path: string): Operation => {
      const found = operations.find((o) => o.method === method && o.path === path)
      if (found === undefined) throw new Error(`no ${method} ${path}`)
      return found.operation
    }
    const send = find("post", "/api/v1/notifications/send")
    expect(refsIn(send.responses["404"])).toEqual(["#/components/schemas/NotFoundProblem"])
    expect(refsIn(send.responses["409"])).toEqual(["#/components/schemas/ConflictProblem"])
    expect(refsIn(send.responses["422"])).toEqual(["#/components/schemas/UnprocessableProblem"])
    const update = find("put", "/api/v1/notifications/{id}/status")
    // An illegal move, or a notification that kept changing under the request (optimistic concurrency).
    expect(refsIn(update.responses["409"])).toEqual([
      "#/components/schemas/ConflictProblem",
      "#/components/schemas/InvalidTransitionProblem"
    ])
    expect(update.responses["409"]?.description).toBe("Conflict | Invalid status transition")
  })
})
