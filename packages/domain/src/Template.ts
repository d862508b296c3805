import * as Schema from "effect/Schema"
import { Channel } from "./Channel.js"
import { TemplateId } from "./Ids.js"
import { pageParams } from "./Pagination.js"

export const TemplateName = Schema.String.pipe(
  Schema.trimmed(),
  Schema.minLength(1),
  Schema.maxLength(100),
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, {
    message: () => "must start with a letter or digit and contain only letters, digits, '_', '.', ':' or '-'"
  }),
  Schema.annotations({ description: "Unique among non-deleted templates.", examples: ["payment_received"] })
)

export const VariableName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, {
    message: () => "must be an identifier (letters, digits, '_'; at most 64 characters)"
  })
)

const VariableDescription = Schema.String.pipe(Schema.maxLength(500))

export const TemplateVariable = Schema.Struct({
  name: VariableName,
  required: Schema.Boolean,
  description: Schema.optional(VariableDescription)
}).annotations({ identifier: "TemplateVariable" })
export type TemplateVariable = typeof TemplateVariable.Type

export const TemplateVariableInput = Schema.Struct({
  name: VariableName,
  required: Schema.optional(Schema.Boolean.annotations({ default: true })),
  description: Schema.optional(VariableDescription)
}).annotations({ identifier: "TemplateVariableInput" })

const TemplateVariables = Schema.Array(TemplateVariableInput).pipe(
  Schema.maxItems(100),
  Schema.filter((variables) => {
    const seen = new Set<string>()
    for (const [index, variable] of variables.entries()) {
      if (seen.has(variable.name)) {
        return { path: [index, "name"], message: `duplicate variable name '${variable.name}'` }
      }
      seen.add(variable.name)
    }
    return true
  })
)

const Subject = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(998))
const Body = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100_000))

export const TemplateSyntax = Schema.Literal("liquid", "legacy").annotations({
  title: "TemplateSyntax",
  description:
    "`liquid`: Liquid (`{{ name }}`), strict — every variable used must be supplied. `legacy`: the monolith's `{name}` placeholders, replaced by plain string substitution; unknown placeholders stay as they are. Templates migrated from the monolith are `legacy`."
})
export type TemplateSyntax = typeof TemplateSyntax.Type

/** Fields a client writes; `POST` creates from them and `PUT` replaces them. */
export const TemplateInput = Schema.Struct({
  name: TemplateName,
  type: Channel,
  subject: Schema.optional(Schema.NullOr(Subject)),
  body: Body.annotations({ description: "Plain-text body (the SMS text, the push body, the email's text part)." }),
  html_body: Schema.optional(Schema.NullOr(Body)).annotations({
    description: "Email only: the HTML part. Variables are HTML-escaped in it."
  }),
  syntax: Schema.optional(TemplateSyntax.annotations({ default: "liquid" })),
  variables: Schema.optional(TemplateVariables)
}).pipe(
  Schema.filter((input) => {
    if (input.type === "email" && (input.subject === null || input.subject === undefined)) {
      return { path: ["subject"], message: "subject is required for email templates" }
    }
    if (input.type !== "email" && input.html_body !== null && input.html_body !== undefined) {
      return { path: ["html_body"], message: "only email templates have an HTML body" }
    }
    return true
  }),
  Schema.annotations({
    identifier: "TemplateInput",
    examples: [
      {
        name: "payment_received",
        type: "email",
        subject: "Payment of {{ amount }} received",
        body: "Hello {{ name }}, we received your payment of {{ amount }}.",
        html_body: "<p>Hello {{ name }}, we received your payment of <b>{{ amount }}</b>.</p>",
        variables: [
          { name: "name", required: true },
          { name: "amount", required: true }
        ]
      }
    ]
  })
)
export type TemplateInput = typeof TemplateInput.Type

/** A template input with every default applied: what gets stored. */
export interface TemplateFields {
  readonly name: string
  readonly type: Channel
  readonly subject: string | null
  readonly body: string
  readonly html_body: string | null
  readonly syntax: TemplateSyntax
  readonly variables: ReadonlyArray<TemplateVariable>
}

export const templateFields = (input: TemplateInput): TemplateFields => ({
  name: input.name,
  type: input.type,
  subject: input.subject ?? null,
  body: input.body,
  html_body: input.html_body ?? null,
  syntax: input.syntax ?? "liquid",
  variables: (input.variables ?? []).map((v) => ({
    name: v.name,
    required: v.required ?? true,
    ...(v.description === undefined ? {} : { description: v.description })
  }))
})

export class Template extends Schema.Class<Template>("Template")({
  id: TemplateId,
  name: Schema.String,
  type: Channel,
  subject: Schema.NullOr(Schema.String),
  body: Schema.String,
  html_body: Schema.NullOr(Schema.String),
  syntax: TemplateSyntax,
  variables: Schema.Array(TemplateVariable),
  version: Schema.Int.annotations({ description: "Starts at 1; every PUT adds 1." }),
  created_at: Schema.DateTimeUtc,
  updated_at: Schema.DateTimeUtc
}) {}

export const ListTemplatesParams = Schema.Struct({
  ...pageParams,
  type: Schema.optional(Channel),
  name: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))).annotations({
    description: "Name prefix."
  })
})
export type ListTemplatesParams = typeof ListTemplatesParams.Type

export const PreviewRequest = Schema.Struct({
  variables: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
}).annotations({
  identifier: "PreviewRequest",
  examples: [{ variables: { name: "Ada", amount: "€12.50" } }]
})
export type PreviewRequest = typeof PreviewRequest.Type

export const SmsEncoding = Schema.Literal("GSM-7", "UCS-2")

export const SmsInfo = Schema.Struct({
  encoding: SmsEncoding,
  characters: Schema.Int.annotations({
    description: "Length in the encoding's units (GSM-7 septets or UTF-16 units)."
  }),
  segments: Schema.Int
}).annotations({ identifier: "SmsInfo" })

/** A rendered message: what a recipient would receive. */
export const RenderedContent = Schema.Struct({
  subject: Schema.NullOr(Schema.String),
  text: Schema.String,
  html: Schema.NullOr(Schema.String),
  sms: Schema.NullOr(SmsInfo)
}).annotations({ identifier: "RenderedContent" })
export type RenderedContent = typeof RenderedContent.Type
