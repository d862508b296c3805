import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import * as Schema from "effect/Schema"
import { Authentication } from "./Auth.js"
import { NotificationId, TemplateId, UserIdFromString } from "./Ids.js"
import { LegacyGroup } from "./LegacyApi.js"
import { ListNotificationsParams, Notification, SendHeaders, SendNotification, UpdateStatus } from "./Notification.js"
import { Page } from "./Pagination.js"
import { PreferenceInput, UserPreference } from "./Preference.js"
import {
  BadRequest,
  Conflict,
  Forbidden,
  InvalidTransition,
  NotFound,
  PayloadTooLarge,
  ProblemContentType,
  ServiceUnavailable,
  TooManyRequests,
  Unprocessable,
  UnsupportedMediaType
} from "./Problem.js"
import { ListTemplatesParams, PreviewRequest, RenderedContent, Template, TemplateInput } from "./Template.js"

const NotificationPath = Schema.Struct({ id: NotificationId })
const TemplatePath = Schema.Struct({ id: TemplateId })
const UserPath = Schema.Struct({ user_id: UserIdFromString })

export const NotificationPage = Page(Notification, "NotificationPage")
export const TemplatePage = Page(Template, "TemplatePage")

export class NotificationsGroup extends HttpApiGroup.make("notifications")
  .add(
    HttpApiEndpoint.post("send", "/notifications/send")
      .setPayload(SendNotification)
      .setHeaders(SendHeaders)
      .addSuccess(Notification, { status: 202 })
      .addError(NotFound.Problem)
      .addError(Conflict.Problem)
      .addError(Unprocessable.Problem)
      .annotate(OpenApi.Summary, "Accept a notification for delivery")
      .annotate(
        OpenApi.Description,
        "Validates the request against the template, stores the notification as `pending` and answers 202 with it and its `Location`. Delivery happens asynchronously. With an `Idempotency-Key` (kept 24 h, per API key) a repeat of the same request answers the first notification again with `Idempotent-Replayed: true`; the same key with another body is 422, and while the first request is still running, 409. Scope: `notifications:write`."
      )
  )
  .add(
    HttpApiEndpoint.get("get", "/notifications/:id")
      .setPath(NotificationPath)
      .addSuccess(Notification)
      .addError(NotFound.Problem)
      .annotate(OpenApi.Summary, "Get a notification")
  )
  .add(
    HttpApiEndpoint.get("listForUser", "/notifications/user/:user_id")
      .setPath(UserPath)
      .setUrlParams(ListNotificationsParams)
      .addSuccess(NotificationPage)
      .annotate(OpenApi.Summary, "List a user's notifications, newest first")
  )
  .add(
    HttpApiEndpoint.put("updateStatus", "/notifications/:id/status")
      .setPath(NotificationPath)
      .setPayload(UpdateStatus)
      .addSuccess(Notification)
      .addError(NotFound.Problem)
      .addError(Conflict.Problem)
      .addError(InvalidTransition.Problem)
      .annotate(OpenApi.Summary, "Move a notification to a new status")
      .annotate(OpenApi.Description, "Obeys the status transition table; repeating the current status is a no-op.")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Sending notifications and tracking their status.") {}

export class TemplatesGroup extends HttpApiGroup.make("templates")
  .add(
    HttpApiEndpoint.get("list", "/templates")
      .setUrlParams(ListTemplatesParams)
      .addSuccess(TemplatePage)
      .annotate(OpenApi.Summary, "List templates by name")
  )
  .add(
    HttpApiEndpoint.post("create", "/templates")
      .setPayload(TemplateInput)
      .addSuccess(Template, { status: 201 })
      .addError(Conflict.Problem)
      .addError(Unprocessable.Problem)
      .annotate(OpenApi.Summary, "Create a template")
  )
  .add(
    HttpApiEndpoint.get("get", "/templates/:id")
      .setPath(TemplatePath)
      .addSuccess(Template)
      .addError(NotFound.Problem)
      .annotate(OpenApi.Summary, "Get a template")
  )
  .add(
    HttpApiEndpoint.put("update", "/templates/:id")
      .setPath(TemplatePath)
      .setPayload(TemplateInput)
      .addSuccess(Template)
      .addError(NotFound.Problem)
      .addError(Conflict.Problem)
      .addError(Unprocessable.Problem)
      .annotate(OpenApi.Summary, "Replace a template (bumps its version)")
  )
  .add(
    HttpApiEndpoint.post("preview", "/templates/:id/preview")
      .setPath(TemplatePath)
      .setPayload(PreviewRequest)
      .addSuccess(RenderedContent)
      .addError(NotFound.Problem)
      .addError(Unprocessable.Problem)
      .annotate(OpenApi.Summary, "Render a template without sending")
      .annotate(
        OpenApi.Description,
        "Renders subject, text and HTML (variables HTML-escaped) with the given variables, exactly as a send would, and reports an SMS body's encoding and segment count. Missing variables, a Liquid error or an SMS over the segment limit are 422. Scope: `templates:read`."
      )
  )
  .add(
    HttpApiEndpoint.del("delete", "/templates/:id")
      .setPath(TemplatePath)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(NotFound.Problem)
      .annotate(OpenApi.Summary, "Delete a template")
      .annotate(
        OpenApi.Description,
        "Soft delete: notifications keep their reference, the template answers 404 from now on and its name is free again."
      )
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Message templates per channel.") {}

export class PreferencesGroup extends HttpApiGroup.make("preferences")
  .add(
    HttpApiEndpoint.get("get", "/preferences/user/:user_id")
      .setPath(UserPath)
      .addSuccess(UserPreference)
      .annotate(OpenApi.Summary, "Get a user's channel preferences and quiet hours")
      .annotate(OpenApi.Description, "Users who never stored preferences get the defaults (`updated_at: null`).")
  )
  .add(
    HttpApiEndpoint.put("put", "/preferences/user/:user_id")
      .setPath(UserPath)
      .setPayload(PreferenceInput)
      .addSuccess(UserPreference)
      .annotate(OpenApi.Summary, "Replace a user's preferences")
  )
  .middleware(Authentication)
  .annotate(OpenApi.Description, "Per-user channel preferences and quiet hours.") {}

/**
 * The v1 contract. Errors every endpoint can answer with are declared once here; the request
 * guards (body size, media type, rate limit) and the shared 400 decode problem come from them.
 */
export class NotificationApi extends HttpApi.make("notification-service")
  .add(NotificationsGroup)
  .add(TemplatesGroup)
  .add(PreferencesGroup)
  .addError(BadRequest.Problem)
  .addError(Forbidden.Problem)
  .addError(PayloadTooLarge.Problem)
  .addError(UnsupportedMediaType.Problem)
  .addError(TooManyRequests.Problem)
  .addError(ServiceUnavailable.Problem)
  .prefix("/api/v1")
  // Added after the prefix: the migration's internal group lives under /internal/v1/legacy.
  .add(LegacyGroup)
  .annotate(OpenApi.Title, "notification-service")
  .annotate(OpenApi.Version, "1.0.0")
  .annotate(
    OpenApi.Description,
    "Email, SMS and push notifications from templates, with per-user preferences and quiet hours. Errors are RFC 9457 problem details (`application/problem+json`). Every `/api` response carries `RateLimit-*` headers."
  )
  .annotate(OpenApi.Transform, (spec) => withoutBuiltinDecodeError(spec)) {}

/**
 * `HttpApi.make` declares its own `HttpApiDecodeError` body for every 400. The server turns
 * decode failures into `BadRequest` problems, so the document must not promise the built-in shape.
 */
export const withoutBuiltinDecodeError = (spec: Record<string, unknown>): Record<string, unknown> => {
  const builtin = "#/components/schemas/HttpApiDecodeError"
  const prune = (node: unknown): unknown => {
    if (Array.isArray(node)) {
      return node.filter((item) => !isRef(item, builtin)).map(prune)
    }
    if (node !== null && typeof node === "object") {
      const out: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(node)) {
        out[key] = prune(value)
      }
      for (const combinator of ["anyOf", "oneOf"]) {
        const options = out[combinator]
        if (Array.isArray(options) && options.length === 1) {
          delete out[combinator]
          Object.assign(out, options[0])
        }
      }
      return out
    }
    return node
  }
  const pruned = prune(spec) as Record<string, unknown>
  const paths = (pruned.paths ?? {}) as Record<string, Record<string, { responses?: Record<string, OpenApiResponse> }>>
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      for (const response of Object.values(operation.responses ?? {})) {
        labelProblemResponse(response, pruned)
      }
    }
  }
  const components = pruned.components as { schemas?: Record<string, unknown> } | undefined
  if (components?.schemas) {
    delete components.schemas.HttpApiDecodeError
    delete components.schemas.Issue
    delete components.schemas.PropertyKey
  }
  return pruned
}

interface OpenApiResponse {
  description?: string
  content?: Record<string, { schema?: unknown }>
}

const problemRefs = (schema: unknown): ReadonlyArray<string> => {
  if (schema === null || typeof schema !== "object") return []
  const node = schema as { $ref?: unknown; anyOf?: ReadonlyArray<unknown> }
  if (typeof node.$ref === "string") return node.$ref.endsWith("Problem") ? [node.$ref] : []
  const refs = (node.anyOf ?? []).flatMap(problemRefs)
  return refs.length === (node.anyOf ?? []).length ? refs : []
}

/** Error responses whose members are all problems go out as `application/problem+json`. */
const labelProblemResponse = (response: OpenApiResponse, spec: Record<string, unknown>): void => {
  const content = response.content
  const body = content?.["application/json"] ?? content?.[ProblemContentType]
  const refs = problemRefs(body?.schema)
  if (content === undefined || body === undefined || refs.length === 0) return
  delete content["application/json"]
  content[ProblemContentType] = body
  const schemas = ((spec.components ?? {}) as { schemas?: Record<string, { title?: string }> }).schemas ?? {}
  const titles = refs.map((ref) => schemas[ref.split("/").pop() ?? ""]?.title).filter((t) => t !== undefined)
  if (titles.length > 0) response.description = titles.join(" | ")
}

const isRef = (node: unknown, ref: string): boolean =>
  node !== null && typeof node === "object" && (node as { $ref?: unknown }).$ref === ref

/** The OpenAPI 3.1 document of the contract, exactly as `GET /openapi.json` serves it. */
export const openApiDocument = () => OpenApi.fromApi(NotificationApi)

export const renderOpenApi = (): string => `${JSON.stringify(openApiDocument(), null, 2)}\n`
