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

/** Fields a client writes; `POST` creates from them and `PUT` replaces them. */
export const TemplateInput = Schema.Struct({
  name: TemplateName,
  type: Channel,
  subject: Schema.optional(Schema.NullOr(Subject)),
  body: Body,
  variables: Schema.optional(TemplateVariables)
}).pipe(
  Schema.filter((input) =>
    input.type === "email" && (input.subject === null || input.subject === undefined)
      ? { path: ["subject"], message: "subject is required for email templates" }
      : true
  ),
  Schema.annotations({
    identifier: "TemplateInput",
    examples: [
      {
        name: "payment_received",
        type: "email",
        subject: "Payment of {amount} received",
        body: "Hello {name}, we received your payment of {amount}.",
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
  readonly variables: ReadonlyArray<TemplateVariable>
}

export const templateFields = (input: TemplateInput): TemplateFields => ({
  name: input.name,
  type: input.type,
  subject: input.subject ?? null,
  body: input.body,
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
