import { Writable } from "node:stream"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { makeProgress, renderProgress } from "../src/Progress.js"

describe("renderProgress", () => {
  it("shows the bar, percentage, counts, rate and ETA", () => {
    expect(renderProgress({ label: "backfill", done: 2500, total: 10_000, elapsedMillis: 2000, width: 10 })).toBe(
      "backfill [###-------] 25% 2,500/10,000 rows 1,250/s ETA 6s"
    )
  })

  it("is full and done at the end; an unknown rate has no ETA; long ones are in minutes and hours", () => {
    expect(renderProgress({ label: "x", done: 5, total: 5, elapsedMillis: 0, width: 4, unit: "logs" })).toBe(
      "x [####] 100% 5/5 logs 0/s ETA 0s"
    )
    expect(renderProgress({ label: "x", done: 0, total: 5, elapsedMillis: 1000, width: 4 })).toMatch(/ETA \?$/)
    expect(renderProgress({ label: "x", done: 1, total: 200, elapsedMillis: 1000, width: 4 })).toMatch(/ETA 3m19s$/)
    expect(renderProgress({ label: "x", done: 1, total: 7201, elapsedMillis: 1000, width: 4 })).toMatch(/ETA 2h00m$/)
    expect(renderProgress({ label: "x", done: 0, total: 0, elapsedMillis: 0, width: 4 })).toMatch(/\[####\] 100%/)
  })
})

const capture = (isTTY: boolean) => {
  const chunks: Array<string> = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk))
      done()
    }
  }) as unknown as NodeJS.WriteStream
  Object.assign(stream, { isTTY })
  return { stream, chunks }
}

describe("makeProgress", () => {
  it.effect("off a terminal, prints a line at most every interval, and the final line", () =>
    Effect.gen(function* () {
      const { stream, chunks } = capture(false)
      const progress = yield* makeProgress("replay", { stream, every: 2000, unit: "notifications" })
      yield* progress.update(1, 10)
      yield* progress.update(2, 10)
      yield* TestClock.adjust("2 seconds")
      yield* progress.update(6, 10)
      yield* progress.update(10, 10)
      yield* progress.finish
      expect(chunks).toEqual([
        "replay [##----------------------] 10% 1/10 notifications 0/s ETA ?\n",
        "replay [##############----------] 60% 6/10 notifications 3/s ETA 1s\n",
        "replay [########################] 100% 10/10 notifications 5/s ETA 0s\n"
      ])
    })
  )

  it.effect("on a terminal, redraws one line on every update", () =>
    Effect.gen(function* () {
      const { stream, chunks } = capture(true)
      const progress = yield* makeProgress("seed", { stream })
      yield* progress.update(1, 2)
      yield* progress.update(2, 2)
      yield* progress.finish
      expect(chunks.map((c) => c.slice(0, 1))).toEqual(["\r", "\r", "\r"])
      expect(chunks.at(-1)?.endsWith("\n")).toBe(true)
    })
  )
})
