/**
 * Liquid templates (`{{ name }}`), rendered by liquidjs in a locked-down
 * configuration:
 * - strict: a variable the template outputs but the request does not supply
 *   is an error, not an empty string. `{% if x %}` and `x | default: ...` stay
 *   lenient (`lenientIf`), since that is how a template handles an optional
 *   variable. Unknown filters are errors too.
 * - no files: `include`, `render` and `layout` are refused when the template
 *   is parsed, and the engine's file system refuses every read.
 * - no prototype access (`{{ name.constructor }}` is an undefined variable).
 * - bounded: template size, render time and allocations.
 * - deterministic: the `date` filter formats in UTC and `en-US`, whatever the
 *   host's zone and locale.
 *
 * In HTML every output is HTML-escaped, and there is no `raw` filter (in any
 * field, so that one `validate` holds for all): variables carry what end users
 * typed, so no variable can inject markup into an email. Markup belongs in
 * the template itself. So that escaping happens exactly once, `escape` (and
 * `escape_once`, `xml_escape`) is not escaped again, and a `{% capture %}`
 * block, already escaped, is output as it is; a filter applied to it makes it
 * text again, which is escaped.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import {
  CaptureTag,
  type Context,
  Drop,
  type FilterImplOptions,
  type FS,
  filters,
  Liquid,
  LiquidError,
  type Template,
  UndefinedVariableError
} from "liquidjs"

/** Why a template cannot be parsed or rendered. */
export class RenderError extends Schema.TaggedError<RenderError>()("RenderError", {
  /** liquidjs's message, ending with the position (`, line:1, col:7`). */
  message: Schema.String,
  /** The template field that failed, once known. */
  field: Schema.optional(Schema.Literal("subject", "body", "html_body")),
  /** For an undefined variable: what the variables lack (`name`, or `order.total` for a missing property). */
  missing: Schema.optional(Schema.Array(Schema.String)),
  line: Schema.optional(Schema.Number),
  column: Schema.optional(Schema.Number)
}) {}

/** Options for {@link render}. */
export interface RenderOptions {
  /** HTML-escape every output (for an HTML body). */
  readonly escapeHtml: boolean
}

/**
 * Checks the syntax (tags, filters, no includes), as when a template is
 * created; fails with liquidjs's message, which ends with the position
 * (`undefined filter: bogus, line:1, col:4`). Whether the variables are
 * supplied is only known when rendering.
 */
export const validate = (source: string): Either.Either<void, string> =>
  Either.try({
    try: () => {
      text.parse(source)
    },
    catch: (error) => toRenderError(error).message
  })

/** Renders `source` with `variables` as its only scope. */
export const render = (
  source: string,
  variables: Readonly<Record<string, unknown>>,
  options: RenderOptions = { escapeHtml: false }
): Effect.Effect<string, RenderError> =>
  Effect.try({
    try: () => {
      const engine = options.escapeHtml ? html : text
      // A copy: `{% increment %}` and `{% decrement %}` write to the scope they are given.
      const output: unknown = engine.liquid.renderSync(engine.parse(source), { ...variables })
      return typeof output === "string" ? output : String(output)
    },
    catch: toRenderError
  })

/**
 * The variables a template reads from its scope, without their properties
 * (`{{ order.total }}` is `order`), leaving out what the template assigns
 * itself. Empty for a template that does not parse: {@link validate} says why.
 */
export const referencedVariables = (source: string): ReadonlyArray<string> =>
  Either.getOrElse(
    Either.try(() => text.liquid.globalVariablesSync(text.parse(source), { partials: false })),
    (): ReadonlyArray<string> => []
  )

// Generous for notifications, small enough that one abusive template cannot hurt the worker.
const parseLimit = 1_000_000 // characters per parse
const renderLimit = 1_000 // ms per render
const memoryLimit = 10_000_000 // liquidjs allocation units (string lengths, array sizes) per render

const refuse = (file: string) => new Error(`templates cannot read files (${file})`)

const noFiles: FS = {
  exists: () => Promise.resolve(false),
  existsSync: () => false,
  readFile: (file) => Promise.reject(refuse(file)),
  readFileSync: (file) => {
    throw refuse(file)
  },
  resolve: (_dir, file) => file,
  contains: () => Promise.resolve(false),
  containsSync: () => false
}

const unavailable = (tag: string) => ({
  parse: () => {
    throw new Error(`{% ${tag} %} is not available: a template cannot load other templates`)
  },
  render: () => undefined
})

type FilterHandler = Extract<FilterImplOptions, (...args: never) => unknown>

const escapeFilter = (name: string): FilterHandler => {
  const impl = filters[name]
  if (impl === undefined) throw new Error(`liquidjs has no ${name} filter`)
  return typeof impl === "function" ? impl : impl.handler
}

// liquidjs's extension points are classes: a Drop is how a value tells
// filters and outputs what it stands for.
/** What `{% capture %}` produced in HTML: markup whose variables are already escaped. */
class CapturedHtml extends Drop {
  constructor(readonly html: string) {
    super()
  }
  override valueOf(): string {
    return this.html
  }
  // Property access (`{{ block.size }}`) sees the string.
  toLiquid(): string {
    return this.html
  }
}

class HtmlCapture extends CaptureTag {
  override *render(ctx: Context): Generator<unknown, void, string> {
    yield* super.render(ctx)
    const scope = ctx.bottom()
    const captured: unknown = scope[this.variable]
    if (typeof captured === "string") scope[this.variable] = new CapturedHtml(captured)
  }
}

const liquidEscape = escapeFilter("escape")

function escapeOutput(this: ThisParameterType<typeof liquidEscape>, value: unknown): string {
  return value instanceof CapturedHtml ? value.html : String(liquidEscape.call(this, value))
}

const makeEngine = (escapeHtml: boolean) => {
  const liquid = new Liquid({
    fs: noFiles,
    root: [],
    relativeReference: false,
    strictVariables: true,
    strictFilters: true,
    lenientIf: true,
    ownPropertyOnly: true,
    parseLimit,
    renderLimit,
    memoryLimit,
    timezoneOffset: 0,
    locale: "en-US",
    ...(escapeHtml ? { outputEscape: escapeOutput } : {})
  })
  for (const tag of ["include", "render", "layout"]) liquid.registerTag(tag, unavailable(tag))
  // The same filters in both engines, so one `validate` holds for every field.
  liquid.unregisterFilter("raw")
  if (escapeHtml) {
    // Marked `raw` so the output escape does not escape their result again.
    for (const name of ["escape", "escape_once", "xml_escape"]) {
      liquid.registerFilter(name, { handler: escapeFilter(name), raw: true })
    }
    liquid.registerTag("capture", HtmlCapture)
  }
  return { liquid, parse: cached((source) => liquid.parse(source)) }
}

// Parsed templates are reused across renders (liquidjs keeps render state in the Context).
// Least recently used first out, bounded by count and by total source length.
const maxCached = 500
const maxCachedCharacters = 5_000_000

const cached = (parse: (source: string) => Array<Template>) => {
  const entries = new Map<string, Array<Template>>()
  let characters = 0
  return (source: string): Array<Template> => {
    const hit = entries.get(source)
    if (hit !== undefined) {
      entries.delete(source)
      entries.set(source, hit)
      return hit
    }
    const parsed = parse(source)
    entries.set(source, parsed)
    characters += source.length
    for (const oldest of entries.keys()) {
      if (entries.size <= maxCached && characters <= maxCachedCharacters) break
      entries.delete(oldest)
      characters -= oldest.length
    }
    return parsed
  }
}

const text = makeEngine(false)
const html = makeEngine(true)

function toRenderError(error: unknown): RenderError {
  if (!(error instanceof LiquidError)) {
    return new RenderError({ message: error instanceof Error ? error.message : String(error) })
  }
  const [line, column] = error.token.getPosition()
  const variable = undefinedVariable(error)
  return new RenderError({
    message: error.message,
    ...(variable === undefined ? {} : { missing: [variable] }),
    ...(line === undefined ? {} : { line }),
    ...(column === undefined ? {} : { column })
  })
}

const undefinedVariable = (error: LiquidError): string | undefined => {
  const original = error.originalError
  return error instanceof UndefinedVariableError &&
    original !== undefined &&
    "variableName" in original &&
    typeof original.variableName === "string"
    ? original.variableName
    : undefined
}
