import {
  type FieldError,
  type RenderedContent,
  type SendNotification,
  type Template,
  type TemplateFields,
  Unprocessable
} from "@notification-service/domain"
import * as Effect from "effect/Effect"
import { DeliveryConfig } from "./AppConfig.js"
import { Liquid, renderMessage } from "./rendering/index.js"

type Variables = Readonly<Record<string, unknown>>

/** Why a template cannot serve this request; empty when it can. Pure, so it is unit-tested alone. */
export const checkTemplateUse = (
  template: Pick<Template, "name" | "type" | "variables">,
  request: Pick<SendNotification, "channel" | "variables">
): ReadonlyArray<FieldError> => {
  const problems: Array<FieldError> = []
  if (request.channel !== undefined && request.channel !== template.type) {
    problems.push({
      path: "channel",
      message: `template '${template.name}' is for ${template.type} and cannot be sent as ${request.channel}`
    })
  }
  for (const variable of template.variables) {
    // Own keys only: a variable named `constructor` must not be satisfied by Object.prototype.
    const variables = request.variables ?? {}
    const value = Object.hasOwn(variables, variable.name) ? variables[variable.name] : undefined
    if (variable.required && (value === undefined || value === null)) {
      problems.push({ path: `variables.${variable.name}`, message: `required by template '${template.name}'` })
    }
  }
  return problems
}

/**
 * A declared optional variable the request leaves out renders as nothing (Liquid's `nil`), as
 * `required: false` promises; strict variables still catch names nobody declared.
 */
const withOptionalVariables = (template: Pick<Template, "syntax" | "variables">, variables: Variables): Variables => {
  // Legacy templates keep the monolith's rule instead: an absent key leaves its placeholder.
  if (template.syntax !== "liquid") return variables
  const defaults: Record<string, unknown> = {}
  for (const variable of template.variables) {
    if (!variable.required && !Object.hasOwn(variables, variable.name)) defaults[variable.name] = null
  }
  return Object.keys(defaults).length === 0 ? variables : { ...defaults, ...variables }
}

const sources = (template: Pick<TemplateFields, "subject" | "body" | "html_body">) =>
  [
    ["subject", template.subject],
    ["body", template.body],
    ["html_body", template.html_body]
  ] as const

/**
 * Renders templates the one way sends, previews and the dispatcher all share, so a preview shows
 * exactly what a send would deliver and a send is refused (422) exactly when delivery would fail.
 */
export class Renderer extends Effect.Service<Renderer>()("core/Renderer", {
  effect: Effect.gen(function* () {
    const { smsMaxSegments } = yield* DeliveryConfig

    const render = (template: Template, variables: Variables): Effect.Effect<RenderedContent, Unprocessable> =>
      Effect.gen(function* () {
        const problems = checkTemplateUse(template, { variables })
        if (problems.length > 0) {
          return yield* new Unprocessable({
            detail: `Template '${template.name}' needs variables the request does not give.`,
            errors: problems
          })
        }
        const rendered = yield* renderMessage(template, withOptionalVariables(template, variables)).pipe(
          Effect.mapError(
            (error) =>
              new Unprocessable({
                detail: `Template '${template.name}' cannot be rendered: ${error.message}`,
                errors:
                  error.missing !== undefined && error.missing.length > 0
                    ? error.missing.map((name) => ({
                        path: `variables.${name}`,
                        message: `used by template '${template.name}' (${error.field ?? "body"}): ${error.message}`
                      }))
                    : [{ path: error.field ?? "body", message: error.message }]
              })
          )
        )
        const sms = rendered.sms ?? null
        if (sms !== null && sms.segments > smsMaxSegments) {
          return yield* new Unprocessable({
            detail: `The rendered SMS takes ${sms.segments} segments (${sms.encoding}, ${sms.characters} characters); at most ${smsMaxSegments} are allowed.`,
            errors: [{ path: "body", message: `exceeds the limit of ${smsMaxSegments} SMS segments` }]
          })
        }
        return {
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          sms: sms === null ? null : { encoding: sms.encoding, characters: sms.characters, segments: sms.segments }
        }
      }).pipe(Effect.withSpan("Renderer.render"))

    /**
     * A Liquid template must parse, and every variable it uses must be declared: the declared
     * list is the template's contract with its callers. Legacy templates are taken as they are.
     */
    const validate = (template: TemplateFields): Effect.Effect<void, Unprocessable> => {
      if (template.syntax !== "liquid") return Effect.void
      const declared = new Set(template.variables.map((variable) => variable.name))
      const errors: Array<FieldError> = []
      for (const [path, source] of sources(template)) {
        if (source === null) continue
        const parsed = Liquid.validate(source)
        if (parsed._tag === "Left") {
          errors.push({ path, message: parsed.left })
          continue
        }
        for (const name of Liquid.referencedVariables(source)) {
          if (!declared.has(name)) errors.push({ path, message: `uses variable '${name}', which is not declared` })
        }
      }
      return errors.length === 0
        ? Effect.void
        : Effect.fail(new Unprocessable({ detail: "The template is not valid Liquid for its variables.", errors }))
    }

    return { render, validate } as const
  })
}) {}
