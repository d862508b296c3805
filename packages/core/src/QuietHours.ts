/**
 * Quiet hours: a daily window of local time, in the user's IANA zone, during
 * which notifications wait.
 *
 * Each day's window is a span of real time, from the first moment the user's
 * clock shows `start` to the first moment it then shows `end` (the next day's
 * `end` when the window crosses midnight, as 22:00-07:00 does). On the days
 * the clocks change that means:
 * - a time the clock skips (spring forward) is reached when the clock jumps
 *   past it: in London on 2026-03-29, 01:30 is 02:00 BST (01:00 UTC).
 * - a time the clock shows twice (fall back) is its first showing: in London
 *   on 2026-10-25, 01:30 is 01:30 BST (00:30 UTC). For `start` that keeps
 *   the user's night whole; for `end` it releases notifications when the
 *   clock on the nightstand first reads `end`, not an hour after it did, and
 *   the repeated hour is not quiet a second time.
 */
import { IllegalArgumentException } from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Option from "effect/Option"

export interface QuietWindow {
  /** Local time `HH:MM`, inclusive. */
  readonly start: string
  /** Local time `HH:MM`, exclusive; never equal to `start`. */
  readonly end: string
  /** IANA zone, e.g. `Europe/London`. */
  readonly timeZone: string
}

/**
 * If `now` falls in the quiet window, the instant it ends; otherwise none.
 * An invalid time or zone throws: both are validated where preferences are
 * written, so one here is a defect.
 */
export const quietUntil = (now: DateTime.Utc, window: QuietWindow): Option.Option<DateTime.Utc> => {
  const local = localClock(window)
  let until = local.spanEnd(DateTime.toEpochMillis(now))
  if (until === undefined) return Option.none()
  // One day's window can run straight into the next one's when the clocks skip
  // the whole break between them; the user is quiet until the last one ends.
  for (let days = 0; days < 7; days++) {
    const next = local.spanEnd(until)
    if (next === undefined) break
    until = next
  }
  return Option.some(DateTime.unsafeMake(until))
}

const minute = 60_000
const day = 24 * 60 * minute

const localTime = (time: string): number => {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(time)
  if (match === null) throw new IllegalArgumentException(`quiet hours: '${time}' is not a time HH:MM`)
  return (Number(match[1]) * 60 + Number(match[2])) * minute
}

// Building a zone builds an Intl.DateTimeFormat, which is slow; there are only a few hundred zones.
const zones = new Map<string, DateTime.TimeZone>()

const zone = (id: string): DateTime.TimeZone => {
  let named = zones.get(id)
  if (named === undefined) {
    named = DateTime.zoneUnsafeMakeNamed(id)
    zones.set(id, named)
  }
  return named
}

/**
 * Wall-clock readings are handled as "local milliseconds": the epoch
 * milliseconds the reading would be if the zone were UTC, so that a local day
 * is plain arithmetic.
 */
const localClock = (window: QuietWindow) => {
  const timeZone = zone(window.timeZone)
  const start = localTime(window.start)
  const crossesMidnight = localTime(window.end) < start
  const end = localTime(window.end) + (crossesMidnight ? day : 0)

  const reading = (instant: number): number =>
    instant + DateTime.zonedOffset(DateTime.unsafeMakeZoned(instant, { timeZone }))

  const instantOf = (wall: number, disambiguation: DateTime.Disambiguation): number =>
    DateTime.toEpochMillis(DateTime.unsafeMakeZoned(wall, { timeZone, adjustForTimeZone: true, disambiguation }))

  /** The first instant at which the clock shows `wall` or, if it skips `wall`, jumps past it. */
  const firstShowing = (wall: number): number => {
    // "compatible" takes the first of a repeated reading and a moment after a skipped one.
    const after = instantOf(wall, "compatible")
    if (reading(after) === wall) return after
    // Skipped: search for the jump between the readings on either side of the gap.
    let before = instantOf(wall, "earlier")
    let jump = after
    while (jump - before > 1) {
      const middle = Math.floor((before + jump) / 2)
      if (reading(middle) >= wall) jump = middle
      else before = middle
    }
    return jump
  }

  /** The end of the window `instant` is in, if any: yesterday's (when it crosses midnight) or today's. */
  const spanEnd = (instant: number): number | undefined => {
    const today = Math.floor(reading(instant) / day) * day
    for (const startDay of [today - day, today]) {
      const from = firstShowing(startDay + start)
      const until = firstShowing(startDay + end)
      if (from <= instant && instant < until) return until
    }
    return undefined
  }

  return { spanEnd }
}
