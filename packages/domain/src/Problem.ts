import { HttpApiSchema } from "@effect/platform"
import * as Schema from "effect/Schema"

/**
 * RFC 9457 problem details. Errors are `Schema.TaggedError`s inside the program; on the wire
 * they become problem documents whose `type` URI names the error, so the `_tag` never leaks and
 * the typed client still decodes each body back into its error class.
 */
export const problemTypeBase = "https://notification-service.dev/problems/"

export const ProblemContentType = "application/problem+json"

export const FieldError = Schema.Struct({
  path: Schema.String.annotations({
    description: "JSON pointer-like path of the offending field, e.g. `recipient.phone`."
  }),
  message: Schema.String
}).annotations({ identifier: "FieldError" })
export type FieldError = typeof FieldError.Type

interface ProblemMeta<Status extends number> {
  readonly status: Status
  readonly slug: string
  readonly title: string
  readonly description: string
}

/** Fields every problem carries besides `type`, `title` and `status`. */
export const problemFields = {
  detail: Schema.String,
  instance: Schema.optional(Schema.String)
}

const wireSchema = <Self extends { readonly _tag: string }, I extends { readonly _tag: string }, Status extends number>(
  self: Schema.Schema<Self, I>,
  fields: Schema.Struct.Fields,
  meta: ProblemMeta<Status>
): Schema.Schema<
  Self,
  Omit<I, "_tag"> & { readonly type: string; readonly title: string; readonly status: Status }
> => {
  const type = `${problemTypeBase}${meta.slug}`
  const tag = tagOf(self)
  const wire = Schema.Struct({
    type: Schema.Literal(type),
    title: Schema.String,
    status: Schema.Literal(meta.status),
    ...fields
  }).annotations({ identifier: `${tag}Problem`, title: meta.title, description: meta.description })
  return Schema.transform(wire, self, {
    strict: false,
    decode: (body) => {
      const { type: _type, title: _title, status: _status, ...rest } = body as Record<string, unknown>
      return { ...rest, _tag: tag }
    },
    encode: (error) => {
      const { _tag, ...rest } = error as Record<string, unknown>
      return { type, title: meta.title, status: meta.status, ...rest }
    }
  }).pipe(
    HttpApiSchema.withEncoding({ kind: "Json", contentType: ProblemContentType }),
    Schema.annotations(HttpApiSchema.annotations({ status: meta.status }))
  ) as unknown as Schema.Schema<
    Self,
    Omit<I, "_tag"> & { readonly type: string; readonly title: string; readonly status: Status }
  >
}

const tagOf = (self: Schema.Schema.Any): string => {
  const ast = Schema.encodedSchema(self).ast
  if (ast._tag === "TypeLiteral") {
    const tagProperty = ast.propertySignatures.find((p) => p.name === "_tag")
    if (tagProperty && tagProperty.type._tag === "Literal" && typeof tagProperty.type.literal === "string") {
      return tagProperty.type.literal
    }
  }
  throw new Error("problem schemas wrap tagged errors")
}

// ---------------------------------------------------------------------------------------------
// The errors. Each class is what programs fail with; `<Name>.Problem` is its wire schema.
// ---------------------------------------------------------------------------------------------

const BadRequestFields = { ...problemFields, errors: Schema.optional(Schema.Array(FieldError)) }
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", BadRequestFields) {
  static readonly Problem = wireSchema(BadRequest, BadRequestFields, {
    status: 400,
    slug: "bad-request",
    title: "Bad request",
    description:
      "The request could not be read: malformed JSON, or a path, query or header value of the wrong shape. `errors` lists each offending field."
  })
}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", problemFields) {
  static readonly Problem = wireSchema(Unauthorized, problemFields, {
    status: 401,
    slug: "unauthorized",
    title: "Unauthorized",
    description: "Missing or invalid `Authorization: Bearer <api key>`."
  })
}

const ForbiddenFields = { ...problemFields, required_scope: Schema.String }
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", ForbiddenFields) {
  static readonly Problem = wireSchema(Forbidden, ForbiddenFields, {
    status: 403,
    slug: "forbidden",
    title: "Forbidden",
    description: "The API key is valid but lacks the scope this operation needs (`required_scope`)."
  })
}

const NotFoundFields = { ...problemFields, resource: Schema.String }
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", NotFoundFields) {
  static readonly Problem = wireSchema(NotFound, NotFoundFields, {
    status: 404,
    slug: "not-found",
    title: "Not found",
    description: "The resource does not exist (or was deleted)."
  })
}

export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", problemFields) {
  static readonly Problem = wireSchema(Conflict, problemFields, {
    status: 409,
    slug: "conflict",
    title: "Conflict",
    description:
      "The request conflicts with the current state: a duplicate name, a request with the same idempotency key still in flight, or a resource that kept changing under the request."
  })
}

const InvalidTransitionFields = { ...problemFields, from: Schema.String, to: Schema.String }
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()(
  "InvalidTransition",
  InvalidTransitionFields
) {
  static readonly Problem = wireSchema(InvalidTransition, InvalidTransitionFields, {
    status: 409,
    slug: "invalid-status-transition",
    title: "Invalid status transition",
    description: "The notification's status cannot move from `from` to `to`."
  })
}

export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", problemFields) {
  static readonly Problem = wireSchema(PayloadTooLarge, problemFields, {
    status: 413,
    slug: "payload-too-large",
    title: "Payload too large",
    description: "The request body is larger than the configured limit."
  })
}

export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  problemFields
) {
  static readonly Problem = wireSchema(UnsupportedMediaType, problemFields, {
    status: 415,
    slug: "unsupported-media-type",
    title: "Unsupported media type",
    description: "Request bodies must be `application/json`."
  })
}

const UnprocessableFields = { ...problemFields, errors: Schema.Array(FieldError) }
export class Unprocessable extends Schema.TaggedError<Unprocessable>()("Unprocessable", UnprocessableFields) {
  static readonly Problem = wireSchema(Unprocessable, UnprocessableFields, {
    status: 422,
    slug: "unprocessable",
    title: "Unprocessable request",
    description:
      "The request is well-formed but cannot be carried out: e.g. missing template variables, or a template of another channel. `errors` lists each reason."
  })
}

const TooManyRequestsFields = { ...problemFields, retry_after: Schema.Number }
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", TooManyRequestsFields) {
  static readonly Problem = wireSchema(TooManyRequests, TooManyRequestsFields, {
    status: 429,
    slug: "rate-limited",
    title: "Too many requests",
    description: "The API key used up its request budget; retry after `retry_after` seconds (also in `Retry-After`)."
  })
}

export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", problemFields) {
  static readonly Problem = wireSchema(ServiceUnavailable, problemFields, {
    status: 503,
    slug: "service-unavailable",
    title: "Service unavailable",
    description: "A dependency (database, rate-limit store) is unavailable, or the service is shutting down."
  })
}

export type ApiProblem =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | InvalidTransition
  | PayloadTooLarge
  | UnsupportedMediaType
  | Unprocessable
  | TooManyRequests
  | ServiceUnavailable
