/**
 * The Django monolith's `{name}` templates, rendered exactly as its
 * `render_template` did:
 *
 * ```python
 * def render_template(template_str, context):
 *     result = template_str
 *     for key, value in context.items():
 *         result = result.replace("{" + key + "}", str(value))
 *     return result
 * ```
 *
 * The replacement is sequential, so a value containing `{other}` is replaced
 * again when `other` comes later in the context, and unknown placeholders stay
 * as they are.
 *
 * A value prints as Python's `str()` of the value the monolith would have
 * decoded: `str(json.loads(JSON.stringify(value)))`. That is exact for every
 * JSON value except what parsing in JavaScript has already lost:
 * - ints and floats: an integral number below 1e21 prints as an int, so a
 *   `1.0` in the request prints `1` where the monolith printed `1.0`; other
 *   numbers print as Python's float `repr` (`12.5`, `1e-05`, `1e+21`), and
 *   integers beyond 2^53 print JavaScript's nearest double.
 * - key order: JavaScript enumerates integer-like keys (`"0"`, `"12"`) first
 *   where Python keeps the document's order, which only matters for such keys
 *   (the order of replacements, the order of keys in a printed dict).
 */

/** Placeholders as the monolith's templates wrote them: identifiers, so CSS or JSON braces are not mistaken for one. */
const placeholder = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/** The distinct placeholder names in `source`, in order of first appearance. */
export const placeholders = (source: string): ReadonlyArray<string> =>
  Array.from(new Set(Array.from(source.matchAll(placeholder), (match) => match[1] ?? "")))

/** Python's `str()` of a JSON value; `undefined` for what JSON would leave out (as a missing key). */
export const pythonStr = (value: unknown): string | undefined => {
  const json = isObject(value) && hasToJson(value) ? value.toJSON() : value
  return typeof json === "string" ? json : pythonRepr(json, new Set())
}

/**
 * Renders `source` the monolith's way. With `escapeHtml` each value is
 * HTML-escaped before it is inserted (the monolith had no HTML bodies).
 */
export const render = (
  source: string,
  variables: Readonly<Record<string, unknown>>,
  options: { readonly escapeHtml: boolean } = { escapeHtml: false }
): string => {
  let result = source
  for (const [key, value] of Object.entries(variables)) {
    const text = pythonStr(value)
    if (text === undefined) continue
    // split/join rather than replaceAll: a string replacement would interpret `$&` and friends.
    result = result.split(`{${key}}`).join(options.escapeHtml ? escapeHtml(text) : text)
  }
  return result
}

const htmlEntities: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&#34;",
  "'": "&#39;"
}

/** The same escaping as Liquid's `escape` filter, so both syntaxes produce the same HTML. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => htmlEntities[char] ?? char)

const pythonRepr = (value: unknown, enclosing: Set<object>): string | undefined => {
  switch (typeof value) {
    case "string":
      return stringRepr(value)
    case "number":
      // JSON.stringify writes integral numbers below 1e21 as integer literals, which Python decodes as ints.
      return Number.isInteger(value) && Math.abs(value) < 1e21 ? String(value) : floatRepr(value)
    case "bigint":
      return value.toString()
    case "boolean":
      return value ? "True" : "False"
    case "object":
      return value === null ? "None" : containerRepr(value, enclosing)
    default:
      // undefined, functions and symbols: what JSON.stringify drops.
      return undefined
  }
}

const containerRepr = (value: object, enclosing: Set<object>): string | undefined => {
  if (hasToJson(value)) return pythonRepr(value.toJSON(), enclosing)
  // A container inside itself prints as Python prints a recursive one.
  if (enclosing.has(value)) return Array.isArray(value) ? "[...]" : "{...}"
  enclosing.add(value)
  try {
    if (Array.isArray(value)) {
      const items: Array<unknown> = value
      return `[${items.map((item) => pythonRepr(item, enclosing) ?? "None").join(", ")}]`
    }
    const entries: Array<string> = []
    for (const [key, item] of Object.entries(value)) {
      const repr = pythonRepr(item, enclosing)
      if (repr !== undefined) entries.push(`${stringRepr(key)}: ${repr}`)
    }
    return `{${entries.join(", ")}}`
  } finally {
    enclosing.delete(value)
  }
}

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null

const hasToJson = (value: object): value is { toJSON: () => unknown } =>
  "toJSON" in value && typeof value.toJSON === "function"

/** Python's float `repr`: the shortest digits that round-trip, in Python's layout. */
const floatRepr = (value: number): string => {
  // JSON has no NaN or infinities: JSON.stringify writes null.
  if (!Number.isFinite(value)) return "None"
  if (value === 0) return Object.is(value, -0) ? "-0.0" : "0.0"
  // toExponential() without an argument gives the shortest round-tripping digits, as Python's repr does.
  const [mantissa = "", exponentText = "0"] = value.toExponential().split("e")
  const sign = value < 0 ? "-" : ""
  const digits = mantissa.replace("-", "").replace(".", "")
  const exponent = Number(exponentText)
  // Python switches to scientific notation below 1e-4 and from 1e16 on.
  if (exponent < -4 || exponent >= 16) {
    const significand = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`
    return `${sign}${significand}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`
  }
  if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0")
  const fraction = digits.slice(exponent + 1)
  return `${sign}${whole}.${fraction === "" ? "0" : fraction}`
}

// Python's str.isprintable() is false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs (but for the space).
// Categories come from the runtime's Unicode version: characters assigned since the monolith's Python's
// version print as themselves here where it escaped them.
const nonPrintable = /^[\p{C}\p{Z}]$/u

const stringEscapes: Readonly<Record<string, string>> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" }

/** Python's `repr` of a str: single quotes unless the text has `'` and no `"`. */
const stringRepr = (text: string): string => {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'"
  let repr = quote
  // Iterating by code point keeps an astral character whole; a lone surrogate comes out on its own.
  for (const char of text) {
    const escaped = stringEscapes[char]
    if (escaped !== undefined) repr += escaped
    else if (char === quote) repr += `\\${char}`
    else if (char !== " " && nonPrintable.test(char)) repr += hexEscape(char.codePointAt(0) ?? 0)
    else repr += char
  }
  return repr + quote
}

const hexEscape = (codePoint: number): string => {
  const hex = codePoint.toString(16)
  return codePoint < 0x100
    ? `\\x${hex.padStart(2, "0")}`
    : codePoint < 0x10000
      ? `\\u${hex.padStart(4, "0")}`
      : `\\U${hex.padStart(8, "0")}`
}
