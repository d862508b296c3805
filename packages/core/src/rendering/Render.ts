import * as Effect from "effect/Effect"
import * as Legacy from "./Legacy.js"
import * as Liquid from "./Liquid.js"
import { RenderError } from "./Liquid.js"
import { type SmsEncoding, segments } from "./SmsSegments.js"

// Defined next to the engine that raises it, so that Liquid does not import this module back.
export { RenderError } from "./Liquid.js"

export type TemplateField = "subject" | "body" | "html_body"

/** What rendering needs of a template; the domain's `Template` fits. */
export interface RenderableTemplate {
  readonly type: "email" | "sms" | "push"
  readonly syntax: "liquid" | "legacy"
  readonly subject: string | null
  readonly body: string
  readonly html_body: string | null
}

export interface Rendered {
  readonly subject: string | null
  /** The plain-text body: the SMS, the push body, the email's text part. */
  readonly text: string
  /** The email's HTML part, variables HTML-escaped. */
  readonly html: string | null
  /** For an SMS: what the text costs to send. */
  readonly sms?: { readonly encoding: SmsEncoding; readonly segments: number; readonly characters: number }
}

type Variables = Readonly<Record<string, unknown>>

const renderField = (
  template: RenderableTemplate,
  field: TemplateField,
  source: string,
  variables: Variables
): Effect.Effect<string, RenderError> => {
  // Only the HTML part is markup; subject and text are sent as they are.
  const escapeHtml = field === "html_body"
  return template.syntax === "legacy"
    ? Effect.succeed(Legacy.render(source, variables, { escapeHtml }))
    : Liquid.render(source, variables, { escapeHtml }).pipe(
        Effect.mapError(
          ({ column, line, message, missing }) =>
            new RenderError({
              message,
              field,
              ...(missing === undefined ? {} : { missing }),
              ...(line === undefined ? {} : { line }),
              ...(column === undefined ? {} : { column })
            })
        )
      )
}

const renderOptional = (
  template: RenderableTemplate,
  field: TemplateField,
  source: string | null,
  variables: Variables
): Effect.Effect<string | null, RenderError> =>
  source === null ? Effect.succeed(null) : renderField(template, field, source, variables)

/** Renders every part of `template`, failing on the first part that cannot be rendered. */
export const renderMessage = (
  template: RenderableTemplate,
  variables: Variables
): Effect.Effect<Rendered, RenderError> =>
  Effect.all({
    subject: renderOptional(template, "subject", template.subject, variables),
    text: renderField(template, "body", template.body, variables),
    html: renderOptional(template, "html_body", template.html_body, variables)
  }).pipe(
    Effect.map((rendered): Rendered => {
      if (template.type !== "sms") return rendered
      const { characters, encoding, segments: count } = segments(rendered.text)
      return { ...rendered, sms: { encoding, segments: count, characters } }
    })
  )

/**
 * The variables `template` refers to that `variables` does not supply, in
 * order of first use. Liquid names are top-level (`order` for
 * `{{ order.total }}`) and include those used only in `{% if %}` or
 * `| default`, which may be left out; a legacy placeholder that is not
 * supplied is printed as it is.
 */
export const missingVariables = (template: RenderableTemplate, variables: Variables): ReadonlyArray<string> => {
  const used = [template.subject, template.body, template.html_body].flatMap((source) =>
    source === null
      ? []
      : template.syntax === "legacy"
        ? Legacy.placeholders(source)
        : Liquid.referencedVariables(source)
  )
  return Array.from(new Set(used.filter((name) => !Object.hasOwn(variables, name) || variables[name] === undefined)))
}
