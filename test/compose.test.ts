import { existsSync, readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import {
  ApiKeysConfig,
  DatabaseConfig,
  HttpConfig,
  parseApiKeys,
  RateLimitConfig,
  TelemetryConfig
} from "@notification-service/core"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { parse } from "yaml"

/**
 * Docker files cannot be run in CI here (no Docker engine), so they are checked by reading them:
 * docker-compose.yml against a small JSON-Schema-like structural schema plus cross-reference
 * checks, the Dockerfile against the properties the image must have. Every check is a pure
 * function of the file's content, and the last tests feed each one a broken variant to prove it
 * can fail.
 */

const read = (relative: string): string => readFileSync(new URL(relative, import.meta.url), "utf8")
const composeText = read("../docker-compose.yml")
const dockerfileText = read("../Dockerfile")
const dockerignoreText = read("../.dockerignore")
const rootManifest: unknown = JSON.parse(read("../package.json"))

/** The settings the processes read (packages/core/src/AppConfig.ts and LOG_LEVEL). */
const knownSettings: ReadonlySet<string> = new Set([
  "PORT",
  "HOST",
  "DATABASE_URL",
  "DATABASE_POOL_SIZE",
  "DATA_DIR",
  "RUN_MIGRATIONS",
  "API_KEYS",
  "RATE_LIMIT_REQUESTS",
  "RATE_LIMIT_WINDOW",
  "REDIS_URL",
  "MAX_BODY_BYTES",
  "SHUTDOWN_GRACE_PERIOD",
  "SHUTDOWN_PRESTOP_DELAY",
  "OTEL_SERVICE_NAME",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "LOG_LEVEL"
])

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

// ---------------------------------------------------------------------------------------------
// A tiny structural validator: each rule appends `path: reason` for every violation it finds.
// ---------------------------------------------------------------------------------------------

type Rule = (value: unknown, path: string, problems: Array<string>) => void

const validate = (rule: Rule, value: unknown): ReadonlyArray<string> => {
  const problems: Array<string> = []
  rule(value, "$", problems)
  return problems
}

const string =
  (pattern?: RegExp): Rule =>
  (value, path, problems) => {
    if (typeof value !== "string") problems.push(`${path}: expected a string`)
    else if (pattern !== undefined && !pattern.test(value))
      problems.push(`${path}: '${value}' does not match ${pattern}`)
  }

const literal =
  (...allowed: ReadonlyArray<string>): Rule =>
  (value, path, problems) => {
    if (typeof value !== "string" || !allowed.includes(value)) {
      problems.push(`${path}: expected one of ${allowed.join(", ")}`)
    }
  }

const boolean: Rule = (value, path, problems) => {
  if (typeof value !== "boolean") problems.push(`${path}: expected a boolean`)
}

const positiveInteger: Rule = (value, path, problems) => {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    problems.push(`${path}: expected a positive integer`)
  }
}

const nullable =
  (rule: Rule): Rule =>
  (value, path, problems) => {
    if (value !== null) rule(value, path, problems)
  }

const arrayOf =
  (item: Rule, minItems = 0): Rule =>
  (value, path, problems) => {
    if (!Array.isArray(value)) {
      problems.push(`${path}: expected an array`)
      return
    }
    if (value.length < minItems) problems.push(`${path}: expected at least ${minItems} item(s)`)
    for (const [index, element] of value.entries()) item(element, `${path}[${index}]`, problems)
  }

/** An object with only the listed properties (additionalProperties: false). */
const object =
  (properties: Readonly<Record<string, Rule>>, required: ReadonlyArray<string> = []): Rule =>
  (value, path, problems) => {
    if (!isRecord(value)) {
      problems.push(`${path}: expected an object`)
      return
    }
    for (const key of required) {
      if (!(key in value)) problems.push(`${path}: missing required property '${key}'`)
    }
    for (const [key, property] of Object.entries(value)) {
      const rule = properties[key]
      if (rule === undefined) problems.push(`${path}: unexpected property '${key}'`)
      else rule(property, `${path}.${key}`, problems)
    }
  }

/** An object used as a map: any keys matching `keyPattern`, every value matching `item`. */
const recordOf =
  (item: Rule, keyPattern: RegExp, minProperties = 0): Rule =>
  (value, path, problems) => {
    if (!isRecord(value)) {
      problems.push(`${path}: expected an object`)
      return
    }
    const entries = Object.entries(value)
    if (entries.length < minProperties) problems.push(`${path}: expected at least ${minProperties} entr(ies)`)
    for (const [key, element] of entries) {
      if (!keyPattern.test(key)) problems.push(`${path}: key '${key}' does not match ${keyPattern}`)
      item(element, `${path}.${key}`, problems)
    }
  }

/** anyOf: passes when one alternative reports nothing; otherwise reports the first one's problems. */
const anyOf =
  (...alternatives: ReadonlyArray<Rule>): Rule =>
  (value, path, problems) => {
    const results = alternatives.map((rule) => {
      const found: Array<string> = []
      rule(value, path, found)
      return found
    })
    if (!results.some((found) => found.length === 0)) problems.push(...(results[0] ?? []))
  }

const allOf =
  (...rules: ReadonlyArray<Rule>): Rule =>
  (value, path, problems) => {
    for (const rule of rules) rule(value, path, problems)
  }

// ---------------------------------------------------------------------------------------------
// The compose schema: the subset of the Compose Specification this project uses.
// ---------------------------------------------------------------------------------------------

/** Go duration as Compose reads it: `30s`, `1m30s`, `500ms`. */
const goDuration = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/
const serviceName = /^[a-z0-9][a-z0-9_.-]*$/
const envName = /^[A-Za-z_][A-Za-z0-9_]*$/

const healthcheckTest: Rule = anyOf(string(/\S/), (value, path, problems) => {
  arrayOf(string(), 2)(value, path, problems)
  if (Array.isArray(value) && !["CMD", "CMD-SHELL"].includes(String(value[0]))) {
    problems.push(`${path}[0]: expected CMD or CMD-SHELL`)
  }
})

const healthcheck = object(
  {
    test: healthcheckTest,
    interval: string(goDuration),
    timeout: string(goDuration),
    start_period: string(goDuration),
    start_interval: string(goDuration),
    retries: positiveInteger,
    disable: boolean
  },
  ["test"]
)

const imageOrBuild: Rule = (value, path, problems) => {
  if (isRecord(value) && !("image" in value) && !("build" in value)) problems.push(`${path}: needs 'image' or 'build'`)
}

const service = allOf(
  imageOrBuild,
  object({
    image: string(/^[a-z0-9][\w./-]*(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/),
    build: anyOf(
      string(/\S/),
      object({ context: string(/\S/), dockerfile: string(/\S/), target: string(/\S/) }, ["context"])
    ),
    command: anyOf(string(/\S/), arrayOf(string(), 1)),
    // Mapping form with string values only: no YAML booleans or numbers silently retyped.
    environment: recordOf(string(), envName),
    ports: arrayOf(string(/^\d+:\d+$/)),
    volumes: arrayOf(string(/^[^:\s]+:\/[^:\s]*(:(ro|rw))?$/)),
    depends_on: anyOf(
      arrayOf(string(serviceName)),
      recordOf(
        object(
          {
            condition: literal("service_started", "service_healthy", "service_completed_successfully"),
            restart: boolean,
            required: boolean
          },
          ["condition"]
        ),
        serviceName
      )
    ),
    healthcheck,
    restart: literal("no", "always", "on-failure", "unless-stopped"),
    stop_grace_period: string(goDuration),
    stop_signal: string(/^SIG[A-Z0-9]+$/),
    init: boolean
  })
)

const namedResource = nullable(object({ name: string(/\S/), driver: string(/\S/), external: boolean }))

const composeSchema = object(
  {
    name: string(/^[a-z0-9][a-z0-9_-]*$/),
    services: recordOf(service, serviceName, 1),
    volumes: recordOf(namedResource, serviceName),
    networks: recordOf(namedResource, serviceName)
  },
  ["services"]
)

// ---------------------------------------------------------------------------------------------
// Cross-reference checks on a structurally valid file.
// ---------------------------------------------------------------------------------------------

interface ComposeService {
  image?: string
  build?: string | { context: string; dockerfile?: string; target?: string }
  environment?: Record<string, string>
  ports?: Array<string>
  volumes?: Array<string>
  depends_on?: Array<string> | Record<string, { condition: string }>
  healthcheck?: { test: string | Array<string> }
  stop_grace_period?: string
}

interface ComposeFile {
  name?: string
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
  networks?: Record<string, unknown>
}

const isComposeFile = (value: unknown): value is ComposeFile => validate(composeSchema, value).length === 0

const dependencies = (svc: ComposeService): ReadonlyArray<readonly [string, string]> =>
  Array.isArray(svc.depends_on)
    ? svc.depends_on.map((target) => [target, "service_started"] as const)
    : Object.entries(svc.depends_on ?? {}).map(([target, { condition }]) => [target, condition] as const)

const dependsOnProblems = (file: ComposeFile): ReadonlyArray<string> =>
  Object.entries(file.services).flatMap(([name, svc]) =>
    dependencies(svc).flatMap(([target, condition]) => {
      const other = file.services[target]
      if (other === undefined) return [`${name}: depends on undefined service '${target}'`]
      if (target === name) return [`${name}: depends on itself`]
      if (condition === "service_healthy" && other.healthcheck === undefined) {
        return [`${name}: waits for '${target}' to be healthy, but '${target}' has no healthcheck`]
      }
      return []
    })
  )

const volumeProblems = (file: ComposeFile): ReadonlyArray<string> =>
  Object.entries(file.services).flatMap(([name, svc]) =>
    (svc.volumes ?? []).flatMap((mount) => {
      const source = mount.split(":")[0] ?? ""
      const named = !source.startsWith(".") && !source.startsWith("/") && !source.startsWith("~")
      return named && !(source in (file.volumes ?? {})) ? [`${name}: volume '${source}' is not declared`] : []
    })
  )

const hostPortProblems = (file: ComposeFile): ReadonlyArray<string> => {
  const owners = new Map<string, string>()
  const problems: Array<string> = []
  for (const [name, svc] of Object.entries(file.services)) {
    for (const mapping of svc.ports ?? []) {
      const host = mapping.split(":")[0] ?? ""
      const owner = owners.get(host)
      if (owner !== undefined) problems.push(`${name}: host port ${host} is already published by ${owner}`)
      owners.set(host, name)
    }
  }
  return problems
}

/** Milliseconds of a Go duration (`1m30s`); undefined when it is not one. */
const goDurationMillis = (text: string): number | undefined => {
  if (!goDuration.test(text)) return undefined
  const unit: Readonly<Record<string, number>> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1_000,
    m: 60_000,
    h: 3_600_000
  }
  let total = 0
  for (const [, amount, suffix] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (unit[suffix ?? ""] ?? Number.NaN)
  }
  return total
}

/** The api's environment read through the service's own Config definitions (defaults included). */
const ApiSettings = Config.all({
  http: HttpConfig,
  database: DatabaseConfig,
  rateLimit: RateLimitConfig,
  telemetry: TelemetryConfig,
  apiKeys: ApiKeysConfig,
  logLevel: Config.logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info))
})

const resolveSettings = (environment: Readonly<Record<string, string>>) =>
  Effect.runSync(
    Effect.either(Effect.withConfigProvider(ApiSettings, ConfigProvider.fromMap(new Map(Object.entries(environment)))))
  )

const apiProblems = (file: ComposeFile): ReadonlyArray<string> => {
  const api = file.services.api
  if (api === undefined) return ["no 'api' service"]
  const problems: Array<string> = []
  const context = typeof api.build === "string" ? api.build : api.build?.context
  if (context !== ".") problems.push("api: must be built from the repository root (build context '.')")

  const environment = api.environment ?? {}
  for (const name of Object.keys(environment)) {
    if (!knownSettings.has(name)) problems.push(`api: environment variable ${name} is not a setting the service reads`)
  }
  for (const name of ["DATABASE_URL", "REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT", "API_KEYS"]) {
    if (environment[name] === undefined) problems.push(`api: ${name} must be set`)
  }
  for (const name of ["DATABASE_URL", "REDIS_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"]) {
    const value = environment[name]
    if (value === undefined) continue
    const host = URL.canParse(value) ? new URL(value).hostname : undefined
    if (host === undefined || file.services[host] === undefined) {
      problems.push(`api: ${name} must point at a compose service, not '${host ?? value}'`)
    } else if (!dependencies(api).some(([target]) => target === host)) {
      problems.push(`api: ${name} points at '${host}', which api does not depend on`)
    }
  }

  const resolved = resolveSettings(environment)
  if (Either.isLeft(resolved)) return [...problems, `api: environment does not parse: ${String(resolved.left)}`]
  const settings = resolved.right

  if (Option.isSome(settings.apiKeys)) {
    try {
      if (parseApiKeys(Redacted.value(settings.apiKeys.value)).length === 0) problems.push("api: API_KEYS holds no key")
    } catch (error) {
      problems.push(`api: ${error instanceof Error ? error.message : String(error)}`)
    }
  }

  const published = (api.ports ?? []).map((mapping) => mapping.split(":")[1])
  if (!published.includes(String(settings.http.port))) {
    problems.push(`api: the container port ${settings.http.port} (PORT) is not published`)
  }

  const shutdown = Duration.sum(settings.http.preStopDelay, settings.http.shutdownGrace)
  const stopGrace = api.stop_grace_period === undefined ? 10_000 : goDurationMillis(api.stop_grace_period)
  if (stopGrace === undefined || stopGrace <= Duration.toMillis(shutdown)) {
    problems.push(
      `api: stop_grace_period (${api.stop_grace_period ?? "10s default"}) must exceed SHUTDOWN_PRESTOP_DELAY + SHUTDOWN_GRACE_PERIOD (${Duration.format(shutdown)})`
    )
  }
  return problems
}

const composeProblems = (value: unknown): ReadonlyArray<string> => {
  const structural = validate(composeSchema, value)
  if (structural.length > 0 || !isComposeFile(value)) return structural
  return [...dependsOnProblems(value), ...volumeProblems(value), ...hostPortProblems(value), ...apiProblems(value)]
}

// ---------------------------------------------------------------------------------------------
// Dockerfile: instructions grouped by stage.
// ---------------------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string
  readonly args: string
  readonly line: number
}

interface Stage {
  readonly name: string | undefined
  readonly base: string
  readonly instructions: ReadonlyArray<Instruction>
}

/** Joins `\` continuations and drops comments (also those inside a continuation, as Docker does). */
const parseInstructions = (text: string): ReadonlyArray<Instruction> => {
  const instructions: Array<Instruction> = []
  let pending: { text: string; line: number } | undefined
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim()
    if (trimmed.startsWith("#") || (trimmed === "" && pending === undefined)) return
    const continued = trimmed.endsWith("\\")
    const piece = continued ? trimmed.slice(0, -1).trim() : trimmed
    pending =
      pending === undefined ? { text: piece, line: index + 1 } : { ...pending, text: `${pending.text} ${piece}` }
    if (!continued) {
      const [keyword = "", ...rest] = pending.text.split(/\s+/)
      instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(" "), line: pending.line })
      pending = undefined
    }
  })
  return instructions
}

const parseDockerfile = (text: string): ReadonlyArray<Stage> => {
  const stages: Array<{ name: string | undefined; base: string; instructions: Array<Instruction> }> = []
  for (const instruction of parseInstructions(text)) {
    if (instruction.keyword === "FROM") {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith("--"))
      const as = words.findIndex((word) => word.toUpperCase() === "AS")
      stages.push({ name: as >= 0 ? words[as + 1] : undefined, base: words[0] ?? "", instructions: [] })
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return stages
}

/** The JSON array of an exec-form CMD/ENTRYPOINT; undefined for the shell form. */
const execForm = (args: string): ReadonlyArray<string> | undefined => {
  try {
    const value: unknown = JSON.parse(args)
    return Array.isArray(value) && value.every((item) => typeof item === "string") ? value : undefined
  } catch {
    return undefined
  }
}

const flag = (args: string, name: string): string | undefined => new RegExp(`--${name}=(\\S+)`).exec(args)?.[1]

/** Sources and destination of a COPY, flags removed (exec/JSON form included). */
const copyParts = (args: string): { readonly sources: ReadonlyArray<string>; readonly destination: string } => {
  const words = args.trim().startsWith("[")
    ? (JSON.parse(args.replace(/^(--\S+\s+)*/, "")) as Array<string>)
    : args.split(/\s+/).filter((word) => !word.startsWith("--"))
  return { sources: words.slice(0, -1), destination: words.at(-1) ?? "" }
}

const workdirOf = (stage: Stage): string =>
  stage.instructions
    .filter((i) => i.keyword === "WORKDIR")
    .at(-1)
    ?.args.replace(/\/+$/, "") ?? ""

const runs = (stage: Stage, pattern: RegExp): ReadonlyArray<Instruction> =>
  stage.instructions.filter((i) => i.keyword === "RUN" && pattern.test(i.args))

/** Files npm ci reads; copying anything else before it invalidates the dependency layer on every edit. */
const isManifest = (source: string): boolean => /(^|\/)(package\.json|package-lock\.json|\.npmrc)$/.test(source)

const isRootUser = (user: string): boolean => /^(root|0)(:.*)?$/.test(user.trim())

/** Relative path of a source inside the stage's WORKDIR (`/app/packages/x` -> `packages/x`). */
const relativeTo = (workdir: string, source: string): string =>
  source === workdir || source === `${workdir}/`
    ? "."
    : source.startsWith(`${workdir}/`)
      ? source.slice(workdir.length + 1)
      : source

/** Whether `stage` ends up with `path` (relative to its WORKDIR), copied directly or inside a copied parent. */
const stageHas = (stages: ReadonlyArray<Stage>, stage: Stage, path: string): boolean =>
  stage.instructions.some((instruction) => {
    if (instruction.keyword !== "COPY") return false
    const from = flag(instruction.args, "from")
    const { sources } = copyParts(instruction.args)
    if (from === undefined) return sources.some((source) => source.replace(/\/+$/, "") === path)
    const origin = stages.find((s) => s.name === from)
    if (origin === undefined) return false
    return sources.some((source) => {
      const relative = relativeTo(workdirOf(origin), source.replace(/\/+$/, ""))
      if (relative === ".") return stageHas(stages, origin, path)
      return path === relative || path.startsWith(`${relative}/`)
    })
  })

const dockerfileProblems = (text: string, workspaces: ReadonlyArray<string>): ReadonlyArray<string> => {
  const stages = parseDockerfile(text)
  const problems: Array<string> = []
  const final = stages.at(-1)
  if (stages.length < 2 || final === undefined) return ["the Dockerfile must be multi-stage (more than one FROM)"]

  stages.forEach((stage, index) => {
    const earlier = stages.slice(0, index).map((s) => s.name)
    if (stage.base !== "node:24-bookworm-slim" && !earlier.includes(stage.base)) {
      problems.push(`stage ${stage.name ?? index}: base '${stage.base}' is not node:24-bookworm-slim`)
    }
  })

  const users = final.instructions.filter((i) => i.keyword === "USER")
  const user = users.at(-1)
  if (user === undefined) problems.push("final stage: no USER, so the process runs as root")
  else if (isRootUser(user.args)) problems.push(`final stage: USER ${user.args} is root`)

  const healthchecks = final.instructions.filter((i) => i.keyword === "HEALTHCHECK")
  const healthcheck = healthchecks.at(-1)
  if (healthcheck === undefined || /^NONE\b/i.test(healthcheck.args)) problems.push("final stage: no HEALTHCHECK")
  else if (!/CMD\s+\[\s*"node"/.test(healthcheck.args) || !healthcheck.args.includes("/health/live")) {
    problems.push("final stage: the HEALTHCHECK must GET /health/live with node itself (no curl in slim images)")
  }

  // Dependencies in the final image: installed there, or copied from another stage's node_modules.
  const carriers = new Set<Stage>([final])
  for (const instruction of final.instructions.filter((i) => i.keyword === "COPY")) {
    const origin = stages.find((s) => s.name === flag(instruction.args, "from"))
    if (origin === undefined) continue
    const carriesModules = copyParts(instruction.args).sources.some((source) => {
      const relative = relativeTo(workdirOf(origin), source.replace(/\/+$/, ""))
      return relative === "." || relative === "node_modules" || relative.endsWith("/node_modules")
    })
    if (carriesModules) carriers.add(origin)
  }
  for (const stage of carriers) {
    const label =
      stage === final ? "final stage" : `stage ${stage.name ?? "?"} (its node_modules reach the final image)`
    for (const run of runs(stage, /\bnpm\s+(ci|install|i)\b/)) {
      if (!/\bnpm\s+ci\b/.test(run.args))
        problems.push(`${label}: line ${run.line} installs with npm install, not npm ci`)
      else if (!/--omit=dev\b/.test(run.args))
        problems.push(`${label}: line ${run.line} runs npm ci without --omit=dev`)
    }
  }

  // Layer caching: every workspace manifest is copied before the first npm ci of each installing stage.
  for (const stage of stages) {
    const install = stage.instructions.findIndex((i) => i.keyword === "RUN" && /\bnpm\s+ci\b/.test(i.args))
    if (install < 0) continue
    const before = { ...stage, instructions: stage.instructions.slice(0, install) }
    for (const manifest of ["package.json", "package-lock.json", ...workspaces.map((w) => `${w}/package.json`)]) {
      if (!stageHas(stages, before, manifest)) {
        problems.push(`stage ${stage.name ?? "?"}: ${manifest} is not copied before npm ci`)
      }
    }
    const early = before.instructions.filter((i) => i.keyword === "COPY" && flag(i.args, "from") === undefined)
    if (early.some((i) => copyParts(i.args).sources.some((source) => !isManifest(source)))) {
      problems.push(`stage ${stage.name ?? "?"}: sources are copied before npm ci, defeating the layer cache`)
    }
  }
  if (!stages.some((stage) => runs(stage, /\bnpm\s+run\s+build\b/).length > 0))
    problems.push("no stage runs npm run build")

  // The workspace symlinks in node_modules need each package's manifest and compiled output.
  for (const workspace of workspaces) {
    for (const path of [`${workspace}/package.json`, `${workspace}/dist`]) {
      if (!stageHas(stages, final, path)) problems.push(`final stage: ${path} is missing`)
    }
  }

  const env = final.instructions.filter((i) => i.keyword === "ENV").map((i) => i.args)
  if (!env.some((args) => /\bNODE_ENV[= ]production\b/.test(args)))
    problems.push("final stage: NODE_ENV is not production")
  if (!final.instructions.some((i) => i.keyword === "EXPOSE" && /\b3000\b/.test(i.args))) {
    problems.push("final stage: EXPOSE 3000 is missing")
  }
  const stopSignal = final.instructions.filter((i) => i.keyword === "STOPSIGNAL").at(-1)
  if (stopSignal?.args !== "SIGTERM") problems.push("final stage: STOPSIGNAL must be SIGTERM")
  const cmd = final.instructions.filter((i) => i.keyword === "CMD").at(-1)
  if (JSON.stringify(execForm(cmd?.args ?? "")) !== JSON.stringify(["node", "packages/server/dist/main.js"])) {
    problems.push('final stage: CMD must be the exec form ["node", "packages/server/dist/main.js"] (node as PID 1)')
  }
  return problems
}

/** .dockerignore globs: `*` and `?` stay within a path segment, a `**` segment spans zero or more directories. */
const globToRegExp = (glob: string): RegExp => {
  let source = ""
  for (let index = 0; index < glob.length; index++) {
    if (glob.startsWith("**/", index)) {
      source += "(?:.*/)?"
      index += 2
    } else if (glob.startsWith("**", index)) {
      source += ".*"
      index += 1
    } else {
      const char = glob.charAt(index)
      source += char === "*" ? "[^/]*" : char === "?" ? "[^/]" : char.replace(/[.+^${}()|[\]\\]/, "\\$&")
    }
  }
  return new RegExp(`^${source}$`)
}

/** Context paths the Dockerfile COPYs that a .dockerignore pattern would drop (last match wins). */
const ignoredCopySources = (dockerfile: string, dockerignore: string): ReadonlyArray<string> => {
  const patterns = dockerignore
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const negated = line.startsWith("!")
      return { negated, regex: globToRegExp((negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, "")) }
    })
  const ignored = (path: string): boolean => {
    const segments = path.split("/")
    return segments.some((_, index) => {
      const prefix = segments.slice(0, index + 1).join("/")
      const last = patterns.filter((pattern) => pattern.regex.test(prefix)).at(-1)
      return last !== undefined && !last.negated
    })
  }
  return parseDockerfile(dockerfile)
    .flatMap((stage) => stage.instructions)
    .filter((i) => i.keyword === "COPY" && flag(i.args, "from") === undefined)
    .flatMap((i) => copyParts(i.args).sources)
    .map((source) => source.replace(/\/+$/, ""))
    .filter(ignored)
}

// ---------------------------------------------------------------------------------------------

const workspaces: ReadonlyArray<string> =
  isRecord(rootManifest) && Array.isArray(rootManifest.workspaces)
    ? rootManifest.workspaces.filter((w): w is string => typeof w === "string")
    : []

const compose: unknown = parse(composeText)

const loadCompose = (): ComposeFile => {
  if (!isComposeFile(compose)) throw new Error(validate(composeSchema, compose).join("\n"))
  return compose
}

const serviceOf = (file: ComposeFile, name: string): ComposeService => {
  const svc = file.services[name]
  if (svc === undefined) throw new Error(`no service ${name}`)
  return svc
}

/** A deep copy of the real compose file with one change. */
const composeWith = (change: (file: ComposeFile) => void): ComposeFile => {
  const copy = structuredClone(loadCompose())
  change(copy)
  return copy
}

/** The real Dockerfile with one textual change; fails if the change did not apply. */
const dockerfileWith = (search: string | RegExp, replacement: string): string => {
  const changed = dockerfileText.replace(search, replacement)
  if (changed === dockerfileText) throw new Error(`'${search}' not found in the Dockerfile`)
  return changed
}

describe("docker-compose.yml", () => {
  it("matches the structural schema", () => {
    expect(validate(composeSchema, compose)).toEqual([])
  })

  it("has only services, volumes, networks and name at the top level", () => {
    const allowed = ["services", "volumes", "networks", "name"]
    expect(isRecord(compose)).toBe(true)
    expect(Object.keys(isRecord(compose) ? compose : {}).filter((key) => !allowed.includes(key))).toEqual([])
  })

  it("runs postgres, redis, jaeger and the api", () => {
    const file = loadCompose()
    expect(Object.keys(file.services).sort()).toEqual(["api", "jaeger", "postgres", "redis"])
    expect(serviceOf(file, "postgres").image).toMatch(/^postgres:16\b/)
    expect(serviceOf(file, "postgres").environment?.POSTGRES_DB).toBe("notifications")
    expect(serviceOf(file, "redis").image).toMatch(/^redis:7\b/)
    expect(serviceOf(file, "jaeger").image).toMatch(/^jaegertracing\/all-in-one\b/)
    expect(serviceOf(file, "jaeger").environment?.COLLECTOR_OTLP_ENABLED).toBe("true")
    expect(serviceOf(file, "jaeger").ports).toEqual(expect.arrayContaining(["16686:16686", "4318:4318"]))
    expect(serviceOf(file, "api").ports).toContain("3000:3000")
  })

  it("resolves every depends_on, volume and host port", () => {
    const file = loadCompose()
    expect([...dependsOnProblems(file), ...volumeProblems(file), ...hostPortProblems(file)]).toEqual([])
    expect(dependencies(serviceOf(file, "api"))).toEqual(
      expect.arrayContaining([
        ["postgres", "service_healthy"],
        ["redis", "service_healthy"]
      ])
    )
  })

  it("configures the api with settings the service reads, and stops it after its drain", () => {
    expect(apiProblems(loadCompose())).toEqual([])
  })

  it("builds the api from this repository's Dockerfile", () => {
    const api = serviceOf(loadCompose(), "api")
    const dockerfile = typeof api.build === "object" ? (api.build.dockerfile ?? "Dockerfile") : "Dockerfile"
    expect(existsSync(new URL(`../${dockerfile}`, import.meta.url))).toBe(true)
    const target = typeof api.build === "object" ? api.build.target : undefined
    if (target !== undefined) expect(parseDockerfile(dockerfileText).at(-1)?.name).toBe(target)
  })
})

describe("Dockerfile", () => {
  it("reads the workspaces from package.json", () => {
    expect(workspaces.length).toBeGreaterThan(0)
  })

  it("is multi-stage, non-root, health-checked and installs only production dependencies in the image", () => {
    expect(parseDockerfile(dockerfileText).length).toBeGreaterThan(1)
    expect(dockerfileProblems(dockerfileText, workspaces)).toEqual([])
  })

  it("sends every file it COPYs from the context (.dockerignore drops none of them)", () => {
    expect(ignoredCopySources(dockerfileText, dockerignoreText)).toEqual([])
    for (const pattern of ["**/node_modules", "**/dist", ".env", ".data"]) {
      expect(dockerignoreText.split(/\r?\n/)).toContain(pattern)
    }
  })
})

describe("the checks reject broken files", () => {
  const composeCases: ReadonlyArray<readonly [string, (file: ComposeFile) => void, RegExp]> = [
    ["an unknown top-level key", (f) => Object.assign(f, { version: "3.9" }), /unexpected property 'version'/],
    [
      "a service with neither image nor build",
      (f) => Object.assign(f.services, { idle: {} }),
      /needs 'image' or 'build'/
    ],
    ["a port without a host side", (f) => Object.assign(serviceOf(f, "api"), { ports: ["3000"] }), /does not match/],
    [
      "a dependency on a missing service",
      (f) => Object.assign(serviceOf(f, "api"), { depends_on: { kafka: { condition: "service_started" } } }),
      /undefined service 'kafka'/
    ],
    [
      "waiting for a service without a healthcheck",
      (f) => Object.assign(serviceOf(f, "api"), { depends_on: { jaeger: { condition: "service_healthy" } } }),
      /has no healthcheck/
    ],
    [
      "a healthcheck without test",
      (f) => Object.assign(serviceOf(f, "redis"), { healthcheck: { interval: "5s" } }),
      /'test'/
    ],
    [
      "an undeclared named volume",
      (f) => Object.assign(serviceOf(f, "postgres"), { volumes: ["pgdata:/var/lib/postgresql/data"] }),
      /'pgdata' is not declared/
    ],
    [
      "an api variable the service does not read",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { DB_HOST: "postgres" }),
      /DB_HOST is not a setting/
    ],
    [
      "a non-string environment value",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { RUN_MIGRATIONS: true }),
      /expected a string/
    ],
    [
      "a shutdown setting that does not parse",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { SHUTDOWN_GRACE_PERIOD: "20s" }),
      /does not parse/
    ],
    [
      "a stop_grace_period shorter than the drain",
      (f) => Object.assign(serviceOf(f, "api"), { stop_grace_period: "15s" }),
      /must exceed/
    ],
    [
      "a drain longer than stop_grace_period",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { SHUTDOWN_GRACE_PERIOD: "45 seconds" }),
      /must exceed/
    ],
    [
      "a database URL that is not a compose service",
      (f) =>
        Object.assign(serviceOf(f, "api").environment ?? {}, {
          DATABASE_URL: "postgres://u:p@localhost:5432/notifications"
        }),
      /DATABASE_URL must point at a compose service/
    ],
    [
      "a malformed API_KEYS entry",
      (f) => Object.assign(serviceOf(f, "api").environment ?? {}, { API_KEYS: "only-an-id" }),
      /API_KEYS entry 1/
    ],
    [
      "a host port published twice",
      (f) => Object.assign(serviceOf(f, "redis"), { ports: ["3000:6379"] }),
      /already published/
    ]
  ]

  for (const [name, change, expected] of composeCases) {
    it(`compose: ${name}`, () => {
      const problems = composeProblems(composeWith(change))
      expect(
        problems.some((problem) => expected.test(problem)),
        problems.join("\n")
      ).toBe(true)
    })
  }

  const dockerfileCases: ReadonlyArray<readonly [string, () => string, RegExp]> = [
    ["a single stage", () => dockerfileText.split(/^FROM .* AS prod-deps$/m)[0] ?? "", /multi-stage/],
    ["USER root in the final stage", () => `${dockerfileText}\nUSER root\n`, /USER root is root/],
    ["no USER", () => dockerfileWith(/^USER node$/m, ""), /no USER/],
    ["no HEALTHCHECK", () => dockerfileWith(/^HEALTHCHECK[^\n]*\\\n[^\n]*\n/m, ""), /no HEALTHCHECK/],
    [
      "a curl HEALTHCHECK",
      () => `${dockerfileText}\nHEALTHCHECK CMD curl -f http://127.0.0.1:3000/health/live\n`,
      /with node itself/
    ],
    [
      "npm ci with dev dependencies in the final stage",
      () => `${dockerfileText}\nRUN npm ci\n`,
      /final stage: .* without --omit=dev/
    ],
    [
      "production dependencies copied from a stage that installs dev dependencies",
      () => dockerfileWith("npm ci --omit=dev", "npm ci"),
      /stage prod-deps .* without --omit=dev/
    ],
    [
      "a missing workspace dist",
      () => dockerfileWith(/^COPY --from=build \/app\/packages\/core\/dist.*\n/m, ""),
      /core\/dist is missing/
    ],
    [
      "sources copied before npm ci",
      () =>
        dockerfileWith(
          "COPY package.json package-lock.json ./",
          "COPY packages/ packages/\nCOPY package.json package-lock.json ./"
        ),
      /before npm ci/
    ],
    [
      "a shell-form CMD",
      () => dockerfileWith('CMD ["node", "packages/server/dist/main.js"]', "CMD npm start"),
      /exec form/
    ],
    [
      "another base image",
      () => dockerfileWith("FROM node:24-bookworm-slim AS runtime", "FROM node:24 AS runtime"),
      /not node:24-bookworm-slim/
    ]
  ]

  for (const [name, variant, expected] of dockerfileCases) {
    it(`Dockerfile: ${name}`, () => {
      const problems = dockerfileProblems(variant(), workspaces)
      expect(
        problems.some((problem) => expected.test(problem)),
        problems.join("\n")
      ).toBe(true)
    })
  }

  it(".dockerignore: a pattern dropping a copied file", () => {
    expect(ignoredCopySources(dockerfileText, `${dockerignoreText}\n*.json\n`)).toContain("package.json")
    expect(ignoredCopySources(dockerfileText, `${dockerignoreText}\npackages\n`)).toContain(
      "packages/core/package.json"
    )
  })
})
