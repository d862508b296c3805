import { describe, expect, it } from "@effect/vitest"
import {
  BadRequest,
  Conflict,
  Forbidden,
  InvalidTransition,
  NotFound,
  PayloadTooLarge,
  ProblemContentType,
  problemTypeBase,
  ServiceUnavailable,
  TooManyRequests,
  Unauthorized,
  Unprocessable,
  UnsupportedMediaType
} from "@notification-service/domain"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"

/**
 * One row per exported problem class: an instance, and the exact wire body (RFC 9457) it must
 * encode to. The type URIs, titles and statuses are written out here, not read from the source.
 */
interface Case {
  readonly name: string
  readonly make: () => { readonly _tag: string }
  readonly ctor: abstract new (...args: never) => unknown
  readonly schema: Schema.Schema.AnyNoContext
  readonly wire: Record<string, unknown>
}

const base = "https://notification-service.dev/problems/"

const cases: ReadonlyArray<Case> = [
  {
    name: "BadRequest",
    make: () => new BadRequest({ detail: "bad json", errors: [{ path: "user_id", message: "expected a number" }] }),
    ctor: BadRequest,
    schema: BadRequest.Problem,
    wire: {
      type: `${base}bad-request`,
      title: "Bad request",
      status: 400,
      detail: "bad json",
      errors: [{ path: "user_id", message: "expected a number" }]
    }
  },
  {
    name: "Unauthorized",
    make: () => new Unauthorized({ detail: "no key" }),
    ctor: Unauthorized,
    schema: Unauthorized.Problem,
    wire: { type: `${base}unauthorized`, title: "Unauthorized", status: 401, detail: "no key" }
  },
  {
    name: "Forbidden",
    make: () => new Forbidden({ detail: "scope", required_scope: "templates:write" }),
    ctor: Forbidden,
    schema: Forbidden.Problem,
    wire: {
      type: `${base}forbidden`,
      title: "Forbidden",
      status: 403,
      detail: "scope",
      required_scope: "templates:write"
    }
  },
  {
    name: "NotFound",
    make: () => new NotFound({ detail: "no such template", resource: "template" }),
    ctor: NotFound,
    schema: NotFound.Problem,
    wire: {
      type: "https://notification-service.dev/problems/not-found",
      title: "Not found",
      status: 404,
      detail: "no such template",
      resource: "template"
    }
  },
  {
    name: "Conflict",
    make: () => new Conflict({ detail: "duplicate name", instance: "/api/v1/templates" }),
    ctor: Conflict,
    schema: Conflict.Problem,
    wire: {
      type: `${base}conflict`,
      title: "Conflict",
      status: 409,
      detail: "duplicate name",
      instance: "/api/v1/templates"
    }
  },
  {
    name: "InvalidTransition",
    make: () => new InvalidTransition({ detail: "no", from: "delivered", to: "pending" }),
    ctor: InvalidTransition,
    schema: InvalidTransition.Problem,
    wire: {
      type: `${base}invalid-status-transition`,
      title: "Invalid status transition",
      status: 409,
      detail: "no",
      from: "delivered",
      to: "pending"
    }
  },
  {
    name: "PayloadTooLarge",
    make: () => new PayloadTooLarge({ detail: "too big" }),
    ctor: PayloadTooLarge,
    schema: PayloadTooLarge.Problem,
    wire: { type: `${base}payload-too-large`, title: "Payload too large", status: 413, detail: "too big" }
  },
  {
    name: "UnsupportedMediaType",
    make: () => new UnsupportedMediaType({ detail: "json only" }),
    ctor: UnsupportedMediaType,
    schema: UnsupportedMediaType.Problem,
    wire: { type: `${base}unsupported-media-type`, title: "Unsupported media type", status: 415, detail: "json only" }
  },
  {
    name: "Unprocessable",
    make: () => new Unprocessable({ detail: "missing", errors: [{ path: "variables.name", message: "required" }] }),
    ctor: Unprocessable,
    schema: Unprocessable.Problem,
    wire: {
      type: `${base}unprocessable`,
      title: "Unprocessable request",
      status: 422,
      detail: "missing",
      errors: [{ path: "variables.name", message: "required" }]
    }
  },
  {
    name: "TooManyRequests",
    make: () => new TooManyRequests({ detail: "slow down", retry_after: 12 }),
    ctor: TooManyRequests,
    schema: TooManyRequests.Problem,
    wire: { type: `${base}rate-limited`, title: "Too many requests", status: 429, detail: "slow down", retry_after: 12 }
  },
  {
    name: "ServiceUnavailable",
    make: () => new ServiceUnavailable({ detail: "db down" }),
    ctor: ServiceUnavailable,
    schema: ServiceUnavailable.Problem,
    wire: { type: `${base}service-unavailable`, title: "Service unavailable", status: 503, detail: "db down" }
  }
]

const encode = (c: Case, value: unknown): unknown => Schema.encodeUnknownSync(c.schema)(value)
const decode = (c: Case, body: unknown) => Schema.decodeUnknownEither(c.schema)(body)

/** The fields of an error instance as plain data (own enumerable properties). */
const fieldsOf = (value: unknown): Record<string, unknown> => ({ ...(value as Record<string, unknown>) })

describe("problem details", () => {
  it("constants", () => {
    expect(problemTypeBase).toBe(base)
    expect(ProblemContentType).toBe("application/problem+json")
  })

  it("covers eleven problem classes with distinct type URIs", () => {
    expect(cases).toHaveLength(11)
    const encodedTypes = cases.map((c) => (encode(c, c.make()) as { type: unknown }).type)
    expect(new Set(encodedTypes).size).toBe(11)
    for (const type of encodedTypes) expect(String(type).startsWith(problemTypeBase)).toBe(true)
  })

  describe.each(cases)("$name", (c) => {
    it("encodes to the exact RFC 9457 body, with no _tag", () => {
      const body = encode(c, c.make())
      expect(body).toStrictEqual(c.wire)
      expect(Object.keys(body as object)).not.toContain("_tag")
      // It is plain JSON.
      expect(JSON.parse(JSON.stringify(body))).toStrictEqual(c.wire)
    })

    it("decodes the body back into an instance of the class with the same fields", () => {
      const decoded = decode(c, JSON.parse(JSON.stringify(c.wire)))
      expect(Either.isRight(decoded)).toBe(true)
      if (Either.isRight(decoded)) {
        const error = decoded.right
        expect(error).toBeInstanceOf(c.ctor)
        expect(error).toBeInstanceOf(Error)
        expect((error as { _tag: string })._tag).toBe(c.name)
        const { type: _type, title: _title, status: _status, ...fields } = c.wire
        expect(fieldsOf(error)).toStrictEqual({ ...fields, _tag: c.name })
        expect(fieldsOf(error)).toStrictEqual(fieldsOf(c.make()))
      }
    })

    it("decode(encode(e)) re-encodes to the same body", () => {
      const decoded = decode(c, encode(c, c.make()))
      if (Either.isLeft(decoded)) throw new Error(decoded.left.message)
      expect(encode(c, decoded.right)).toStrictEqual(c.wire)
    })

    it("refuses a body with another problem's type", () => {
      for (const other of cases.filter((o) => o.wire.type !== c.wire.type)) {
        expect(Either.isLeft(decode(c, { ...c.wire, type: other.wire.type })), String(other.wire.type)).toBe(true)
      }
      expect(Either.isLeft(decode(c, { ...c.wire, type: "about:blank" }))).toBe(true)
      const { type: _type, ...withoutType } = c.wire
      expect(Either.isLeft(decode(c, withoutType))).toBe(true)
    })

    it("refuses a body with the wrong status or without detail", () => {
      const status = c.wire.status === 500 ? 501 : 500
      expect(Either.isLeft(decode(c, { ...c.wire, status }))).toBe(true)
      expect(Either.isLeft(decode(c, { ...c.wire, status: String(c.wire.status) }))).toBe(true)
      const { detail: _detail, ...withoutDetail } = c.wire
      expect(Either.isLeft(decode(c, withoutDetail))).toBe(true)
    })
  })

  it("a body with a _tag but the wrong type is still refused", () => {
    const body = {
      type: `${base}conflict`,
      title: "Not found",
      status: 404,
      detail: "x",
      resource: "template",
      _tag: "NotFound"
    }
    expect(Either.isLeft(Schema.decodeUnknownEither(NotFound.Problem)(body))).toBe(true)
  })

  it("class-specific fields are required on the wire", () => {
    const notFound = { type: `${base}not-found`, title: "Not found", status: 404, detail: "x" }
    expect(Either.isLeft(Schema.decodeUnknownEither(NotFound.Problem)(notFound))).toBe(true)
    const rateLimited = { type: `${base}rate-limited`, title: "Too many requests", status: 429, detail: "x" }
    expect(Either.isLeft(Schema.decodeUnknownEither(TooManyRequests.Problem)(rateLimited))).toBe(true)
    const unprocessable = { type: `${base}unprocessable`, title: "Unprocessable request", status: 422, detail: "x" }
    expect(Either.isLeft(Schema.decodeUnknownEither(Unprocessable.Problem)(unprocessable))).toBe(true)
  })

  it("BadRequest errors and instance are optional", () => {
    const body = Schema.encodeSync(BadRequest.Problem)(new BadRequest({ detail: "x" }))
    expect(body).toStrictEqual({ type: `${base}bad-request`, title: "Bad request", status: 400, detail: "x" })
    const decoded = Schema.decodeUnknownSync(BadRequest.Problem)(body)
    expect(decoded).toBeInstanceOf(BadRequest)
    expect(decoded.errors).toBeUndefined()
  })

  it("round-trips arbitrary NotFound and Forbidden field values", () => {
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.option(fc.string(), { nil: undefined }),
        (detail, resource, instance) => {
          const error = new NotFound(instance === undefined ? { detail, resource } : { detail, resource, instance })
          const body = Schema.encodeSync(NotFound.Problem)(error)
          expect(body.type).toBe(`${base}not-found`)
          expect(body.status).toBe(404)
          expect("_tag" in body).toBe(false)
          const back = Schema.decodeUnknownSync(NotFound.Problem)(JSON.parse(JSON.stringify(body)))
          expect(back).toBeInstanceOf(NotFound)
          expect(back.detail).toBe(detail)
          expect(back.resource).toBe(resource)
          expect(back.instance).toBe(instance)
        }
      )
    )
    fc.assert(
      fc.property(fc.string(), fc.string(), (detail, required_scope) => {
        const body = Schema.encodeSync(Forbidden.Problem)(new Forbidden({ detail, required_scope }))
        const back = Schema.decodeUnknownSync(Forbidden.Problem)(body)
        expect(back).toBeInstanceOf(Forbidden)
        expect(back.required_scope).toBe(required_scope)
      })
    )
  })
})
