import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 })

const duration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "?"
  const s = Math.round(seconds)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
}

/** One line of progress: `label [#####-----] 50% 5,000/10,000 1,234/s ETA 4s`. */
export const renderProgress = (options: {
  readonly label: string
  readonly done: number
  readonly total: number
  readonly elapsedMillis: number
  readonly unit?: string
  readonly width?: number
}): string => {
  const width = options.width ?? 24
  const fraction = options.total > 0 ? Math.min(1, options.done / options.total) : 1
  const filled = Math.round(fraction * width)
  const rate = options.elapsedMillis > 0 ? (options.done * 1000) / options.elapsedMillis : 0
  const eta = rate > 0 ? (options.total - options.done) / rate : Number.POSITIVE_INFINITY
  const unit = options.unit ?? "rows"
  return (
    `${options.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${Math.floor(fraction * 100)}% ` +
    `${integer.format(options.done)}/${integer.format(options.total)} ${unit} ${integer.format(rate)}/s ` +
    `ETA ${options.done >= options.total ? "0s" : duration(eta)}`
  )
}

export interface Progress {
  readonly update: (done: number, total: number) => Effect.Effect<void>
  /** Prints the final line (and a newline on a terminal). */
  readonly finish: Effect.Effect<void>
}

/**
 * A progress bar on stderr, so stdout stays free for the command's report. On a terminal it
 * redraws one line; elsewhere (CI logs, pipes) it prints a line every `every` milliseconds.
 */
export const makeProgress = (
  label: string,
  options: { readonly unit?: string; readonly stream?: NodeJS.WriteStream; readonly every?: number } = {}
): Effect.Effect<Progress> =>
  Effect.gen(function* () {
    const stream = options.stream ?? process.stderr
    const every = options.every ?? 2000
    const startedAt = yield* Clock.currentTimeMillis
    const state = yield* Ref.make({ done: 0, total: 0, printedAt: Number.NEGATIVE_INFINITY })
    const line = (done: number, total: number, now: number) =>
      renderProgress({
        label,
        done,
        total,
        elapsedMillis: now - startedAt,
        ...(options.unit === undefined ? {} : { unit: options.unit })
      })
    const update = (done: number, total: number) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const previous = yield* Ref.get(state)
        const print = stream.isTTY === true || now - previous.printedAt >= every
        yield* Ref.set(state, { done, total, printedAt: print ? now : previous.printedAt })
        if (!print) return
        yield* Effect.sync(() =>
          stream.write(stream.isTTY === true ? `\r${line(done, total, now)}\u001b[K` : `${line(done, total, now)}\n`)
        )
      })
    const finish = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const { done, total } = yield* Ref.get(state)
      yield* Effect.sync(() => stream.write(`${stream.isTTY === true ? "\r" : ""}${line(done, total, now)}\n`))
    })
    return { update, finish }
  })
