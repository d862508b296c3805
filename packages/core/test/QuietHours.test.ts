import { describe, expect, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as fc from "fast-check"
import { type QuietWindow, quietUntil } from "../src/QuietHours.js"

const london = (start: string, end: string): QuietWindow => ({ start, end, timeZone: "Europe/London" })
const newYork = (start: string, end: string): QuietWindow => ({ start, end, timeZone: "America/New_York" })

/** Sets the TestClock to `now` and asks when the window's quiet ends, as an ISO string or null. */
const quietAt = (window: QuietWindow, now: string) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(Date.parse(now))
    const until = quietUntil(yield* DateTime.now, window)
    return Option.getOrNull(Option.map(until, DateTime.formatIso))
  })

type Case = readonly [description: string, window: QuietWindow, now: string, until: string | null]

const cases = (title: string, table: ReadonlyArray<Case>) =>
  describe(title, () => {
    it.effect.each(table)("%s", ([, window, now, until]) =>
      Effect.gen(function* () {
        expect(yield* quietAt(window, now)).toBe(until)
      })
    )
  })

// June in London is BST (UTC+1).
cases("an ordinary day", [
  ["inside, before midnight", london("22:00", "07:00"), "2026-06-10T21:30:00Z", "2026-06-11T06:00:00.000Z"],
  ["inside, after midnight", london("22:00", "07:00"), "2026-06-11T01:00:00Z", "2026-06-11T06:00:00.000Z"],
  ["exactly at the start", london("22:00", "07:00"), "2026-06-10T21:00:00Z", "2026-06-11T06:00:00.000Z"],
  ["just before the start", london("22:00", "07:00"), "2026-06-10T20:59:59.999Z", null],
  ["just before the end", london("22:00", "07:00"), "2026-06-11T05:59:59.999Z", "2026-06-11T06:00:00.000Z"],
  ["exactly at the end", london("22:00", "07:00"), "2026-06-11T06:00:00Z", null],
  ["outside, at noon", london("22:00", "07:00"), "2026-06-11T11:00:00Z", null],
  ["inside a window within the day", london("13:00", "14:00"), "2026-06-11T12:30:00Z", "2026-06-11T13:00:00.000Z"],
  ["before a window within the day", london("13:00", "14:00"), "2026-06-11T11:59:00Z", null],
  ["after a window within the day", london("13:00", "14:00"), "2026-06-11T13:00:00Z", null],
  ["London in winter is UTC", london("22:00", "07:00"), "2026-01-15T06:59:00Z", "2026-01-15T07:00:00.000Z"],
  ["in UTC", { start: "22:00", end: "07:00", timeZone: "UTC" }, "2026-01-15T23:00:00Z", "2026-01-16T07:00:00.000Z"],
  ["a window ending at midnight", london("23:00", "00:00"), "2026-06-10T22:30:00Z", "2026-06-10T23:00:00.000Z"],
  ["a window starting at midnight", london("00:00", "06:00"), "2026-06-10T23:00:00Z", "2026-06-11T05:00:00.000Z"],
  [
    "in a zone east of UTC",
    { start: "22:00", end: "07:00", timeZone: "Asia/Kolkata" },
    "2026-06-10T16:30:00Z",
    "2026-06-11T01:30:00.000Z"
  ]
])

// London, 2026-03-29: at 01:00 UTC the clock jumps from 01:00 GMT to 02:00 BST.
cases("spring forward in London", [
  [
    "a night across the change is an hour shorter",
    london("22:00", "07:00"),
    "2026-03-28T22:00:00Z",
    "2026-03-29T06:00:00.000Z"
  ],
  ["and ends at 07:00 BST", london("22:00", "07:00"), "2026-03-29T05:59:00Z", "2026-03-29T06:00:00.000Z"],
  [
    "an end the clock skips is reached when it jumps",
    london("00:30", "01:30"),
    "2026-03-29T00:45:00Z",
    "2026-03-29T01:00:00.000Z"
  ],
  ["from the start", london("00:30", "01:30"), "2026-03-29T00:30:00Z", "2026-03-29T01:00:00.000Z"],
  ["not before the start", london("00:30", "01:30"), "2026-03-29T00:29:59.999Z", null],
  ["and not after the jump", london("00:30", "01:30"), "2026-03-29T01:00:00Z", null],
  [
    "a start the clock skips is reached when it jumps",
    london("01:30", "07:00"),
    "2026-03-29T01:00:00Z",
    "2026-03-29T06:00:00.000Z"
  ],
  ["and not before", london("01:30", "07:00"), "2026-03-29T00:59:59.999Z", null],
  [
    "a day with no break between two windows is quiet through",
    london("01:40", "01:20"),
    "2026-03-29T00:30:00Z",
    "2026-03-30T00:20:00.000Z"
  ]
])

// London, 2026-10-25: at 01:00 UTC the clock goes back from 02:00 BST to 01:00 GMT, so 01:00-02:00 shows twice.
cases("fall back in London", [
  [
    "a night across the change is an hour longer",
    london("22:00", "07:00"),
    "2026-10-24T21:00:00Z",
    "2026-10-25T07:00:00.000Z"
  ],
  ["and ends at 07:00 GMT", london("22:00", "07:00"), "2026-10-25T06:59:00Z", "2026-10-25T07:00:00.000Z"],
  [
    "a repeated hour starts at its first showing",
    london("01:00", "01:30"),
    "2026-10-25T00:00:00Z",
    "2026-10-25T00:30:00.000Z"
  ],
  ["and ends at its first showing", london("01:00", "01:30"), "2026-10-25T00:29:59.999Z", "2026-10-25T00:30:00.000Z"],
  ["after which it is over", london("01:00", "01:30"), "2026-10-25T00:30:00Z", null],
  ["even when the clock shows it again", london("01:00", "01:30"), "2026-10-25T01:10:00Z", null],
  ["not before", london("01:00", "01:30"), "2026-10-24T23:59:59.999Z", null],
  [
    "a window starting in the repeated hour stays whole",
    london("01:15", "06:00"),
    "2026-10-25T01:05:00Z",
    "2026-10-25T06:00:00.000Z"
  ],
  ["from its first showing", london("01:15", "06:00"), "2026-10-25T00:15:00Z", "2026-10-25T06:00:00.000Z"],
  ["a window ending in the repeated hour", london("00:30", "01:30"), "2026-10-24T23:30:00Z", "2026-10-25T00:30:00.000Z"]
])

// New York: 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC); 2026-11-01 02:00 EDT -> 01:00 EST (06:00 UTC).
cases("New York", [
  [
    "spring forward: a night is an hour shorter",
    newYork("22:00", "07:00"),
    "2026-03-08T03:00:00Z",
    "2026-03-08T11:00:00.000Z"
  ],
  ["a window the clock skips entirely does not happen", newYork("02:00", "02:30"), "2026-03-08T06:59:59.999Z", null],
  ["not even at the jump", newYork("02:00", "02:30"), "2026-03-08T07:00:00Z", null],
  [
    "fall back: a night is an hour longer",
    newYork("22:00", "07:00"),
    "2026-11-01T02:00:00Z",
    "2026-11-01T12:00:00.000Z"
  ],
  ["a repeated half hour is quiet once", newYork("01:00", "01:30"), "2026-11-01T05:10:00Z", "2026-11-01T05:30:00.000Z"],
  ["not twice", newYork("01:00", "01:30"), "2026-11-01T06:10:00Z", null]
])

describe("quietUntil", () => {
  it("refuses a malformed time or an unknown zone", () => {
    const now = DateTime.unsafeMake(0)
    expect(() => quietUntil(now, london("7:00", "08:00"))).toThrow(/HH:MM/)
    expect(() => quietUntil(now, london("07:00", "24:00"))).toThrow(/HH:MM/)
    expect(() => quietUntil(now, { start: "22:00", end: "07:00", timeZone: "Mars/Olympus" })).toThrow()
  })

  const minutes = fc.integer({ min: 0, max: 24 * 60 - 1 })
  const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`
  const window = (timeZone: fc.Arbitrary<string>) =>
    fc
      .record({ start: minutes, end: minutes, timeZone })
      .filter(({ end, start }) => start !== end)
      .map(({ end, start, timeZone }) => ({ start: hhmm(start), end: hhmm(end), timeZone }))
  const hour = 3_600_000
  const transitions = [
    "2026-03-08T07:00:00Z",
    "2026-03-29T01:00:00Z",
    "2026-10-03T15:30:00Z",
    "2026-10-25T01:00:00Z",
    "2026-11-01T06:00:00Z"
  ].map(Date.parse)
  // Anywhere in 2026, and often within two days of a clock change.
  const instant = fc.oneof(
    fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2027-01-01T00:00:00Z") }),
    fc
      .tuple(fc.constantFrom(...transitions), fc.integer({ min: -48 * hour, max: 48 * hour }))
      .map(([t, offset]) => t + offset)
  )
  const zones = fc.constantFrom("Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")

  it("ends the quiet after now, within a day and an hour, at an instant that is not quiet", () => {
    fc.assert(
      fc.property(window(zones), instant, (window, millis) => {
        // Both ends in the skipped hour of a window crossing midnight merges two days (tested above).
        const inSkippedHours = (time: string) => time >= "01:00" && time < "03:00"
        fc.pre(!(window.end < window.start && inSkippedHours(window.start) && inSkippedHours(window.end)))
        const now = DateTime.unsafeMake(millis)
        Option.match(quietUntil(now, window), {
          onNone: () => undefined,
          onSome: (until) => {
            const wait = DateTime.toEpochMillis(until) - millis
            expect(wait).toBeGreaterThan(0)
            expect(wait).toBeLessThanOrEqual(25 * hour)
            expect(Option.isNone(quietUntil(until, window))).toBe(true)
          }
        })
      }),
      { numRuns: 500 }
    )
  })

  it("in UTC, is quiet exactly when the time of day is in the window, until its next end", () => {
    fc.assert(
      fc.property(window(fc.constant("UTC")), instant, (window, millis) => {
        const minute = 60_000
        const day = 24 * 60 * minute
        const [start, end] = [window.start, window.end].map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3)))
        const s = (start ?? 0) * minute
        const e = (end ?? 0) * minute
        const time = millis - Math.floor(millis / day) * day
        const inside = s < e ? s <= time && time < e : time >= s || time < e
        const expected = inside ? millis - time + e + (time >= e ? day : 0) : null
        const actual = quietUntil(DateTime.unsafeMake(millis), window)
        expect(Option.getOrNull(Option.map(actual, DateTime.toEpochMillis))).toBe(expected)
      })
    )
  })
})
