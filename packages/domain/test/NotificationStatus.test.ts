import { describe, expect, it } from "@effect/vitest"
import { allStatuses, canTransition, isTerminal, NotificationStatus, transition } from "@notification-service/domain"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as fc from "fast-check"

type Status = NotificationStatus

/** Written out by hand from the lifecycle the service documents; deliberately not derived from `transitions`. */
const statuses: ReadonlyArray<Status> = [
  "pending",
  "scheduled",
  "sending",
  "sent",
  "delivered",
  "failed",
  "bounced",
  "suppressed",
  "cancelled"
]

/** Every allowed move between two DIFFERENT statuses, as "from->to". */
const expectedMoves: ReadonlySet<string> = new Set([
  // queued work can be scheduled, picked up, sent synchronously, or stopped
  "pending->scheduled",
  "pending->sending",
  "pending->sent",
  "pending->failed",
  "pending->suppressed",
  "pending->cancelled",
  // a scheduled notification comes due (back to pending), is picked up, or is stopped
  "scheduled->pending",
  "scheduled->sending",
  "scheduled->failed",
  "scheduled->suppressed",
  "scheduled->cancelled",
  // in flight: retry (back to pending), provider accepted, delivered, failed or bounced
  "sending->pending",
  "sending->sent",
  "sending->delivered",
  "sending->failed",
  "sending->bounced",
  // accepted by the provider: only delivery callbacks
  "sent->delivered",
  "sent->failed",
  "sent->bounced",
  // a late bounce after delivery
  "delivered->bounced"
])

const expectedTerminal: ReadonlySet<Status> = new Set(["failed", "bounced", "suppressed", "cancelled"])

const allPairs: ReadonlyArray<readonly [Status, Status]> = statuses.flatMap((from) =>
  statuses.map((to) => [from, to] as const)
)

const expectedAllowed = (from: Status, to: Status): boolean => from === to || expectedMoves.has(`${from}->${to}`)

const statusArb: fc.Arbitrary<Status> = fc.constantFrom(...statuses)

/** Applies each requested status when the table allows it (as the service does) and records the path. */
const walk = (requests: ReadonlyArray<Status>): ReadonlyArray<Status> => {
  const path: Array<Status> = ["pending"]
  let current: Status = "pending"
  for (const requested of requests) {
    const next = transition(current, requested)
    if (Either.isRight(next)) current = next.right
    path.push(current)
  }
  return path
}

describe("NotificationStatus", () => {
  it("has exactly the nine documented statuses", () => {
    expect([...allStatuses].sort()).toEqual([...statuses].sort())
    for (const status of statuses) {
      expect(Schema.is(NotificationStatus)(status)).toBe(true)
    }
    expect(Schema.is(NotificationStatus)("queued")).toBe(false)
    expect(Schema.is(NotificationStatus)("PENDING")).toBe(false)
  })

  describe("canTransition over all 81 pairs", () => {
    it.each(allPairs.map(([from, to]) => ({ from, to, allowed: expectedAllowed(from, to) })))(
      "$from -> $to is allowed: $allowed",
      ({ from, to, allowed }) => {
        expect(canTransition(from, to)).toBe(allowed)
      }
    )
  })

  it("the full 9x9 matrix matches the expected table", () => {
    expect(allPairs).toHaveLength(81)
    const actual = allPairs.filter(([from, to]) => from !== to && canTransition(from, to)).map(([f, t]) => `${f}->${t}`)
    expect(new Set(actual)).toEqual(expectedMoves)
  })

  it("repeating the current status is always allowed (idempotent callbacks)", () => {
    for (const status of statuses) {
      expect(canTransition(status, status)).toBe(true)
      expect(transition(status, status)).toEqual(Either.right(status))
    }
  })

  it("isTerminal is true exactly for failed, bounced, suppressed and cancelled", () => {
    for (const status of statuses) {
      expect(isTerminal(status), status).toBe(expectedTerminal.has(status))
    }
  })

  it("terminal statuses allow no move to any other status", () => {
    for (const from of expectedTerminal) {
      for (const to of statuses) {
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(from === to)
      }
    }
  })

  it("non-terminal statuses allow at least one move to another status", () => {
    for (const from of statuses.filter((s) => !expectedTerminal.has(s))) {
      expect(
        statuses.some((to) => to !== from && canTransition(from, to)),
        from
      ).toBe(true)
    }
  })

  it("sent and delivered never move back to pending, scheduled or sending", () => {
    for (const from of ["sent", "delivered"] as const) {
      for (const to of ["pending", "scheduled", "sending"] as const) {
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(false)
      }
    }
    expect(canTransition("delivered", "sent")).toBe(false)
  })

  it("sending -> pending is allowed as a retry", () => {
    expect(canTransition("sending", "pending")).toBe(true)
    expect(transition("sending", "pending")).toEqual(Either.right("pending"))
  })

  describe("transition", () => {
    it.each(allPairs.map(([from, to]) => ({ from, to })))("$from -> $to", ({ from, to }) => {
      const result = transition(from, to)
      if (expectedAllowed(from, to)) {
        expect(result).toEqual(Either.right(to))
      } else {
        expect(result).toEqual(Either.left({ from, to }))
      }
    })

    it("Left carries exactly { from, to } and nothing else", () => {
      const result = transition("delivered", "pending")
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(Object.keys(result.left).sort()).toEqual(["from", "to"])
        expect(result.left).toStrictEqual({ from: "delivered", to: "pending" })
      }
    })

    it("agrees with canTransition for arbitrary pairs", () => {
      fc.assert(
        fc.property(statusArb, statusArb, (from, to) => {
          expect(Either.isRight(transition(from, to))).toBe(canTransition(from, to))
        })
      )
    })
  })

  describe("properties of any sequence of requested statuses from pending", () => {
    const requestsArb = fc.array(statusArb, { maxLength: 40 })

    it("every step of the walk is an allowed move", () => {
      fc.assert(
        fc.property(requestsArb, (requests) => {
          const path = walk(requests)
          for (let i = 1; i < path.length; i++) {
            const from = path[i - 1]
            const to = path[i]
            if (from === undefined || to === undefined) throw new Error("path has holes")
            expect(expectedAllowed(from, to), `${from} -> ${to}`).toBe(true)
          }
        })
      )
    })

    it("once a terminal status is reached it never changes", () => {
      fc.assert(
        fc.property(requestsArb, (requests) => {
          const path = walk(requests)
          const firstTerminal = path.findIndex((s) => expectedTerminal.has(s))
          if (firstTerminal >= 0) {
            const terminal = path[firstTerminal]
            expect(path.slice(firstTerminal).every((s) => s === terminal)).toBe(true)
          }
        })
      )
    })

    it("after sent or delivered the status never returns to pending, scheduled or sending", () => {
      fc.assert(
        fc.property(requestsArb, (requests) => {
          const path = walk(requests)
          const firstDone = path.findIndex((s) => s === "sent" || s === "delivered")
          if (firstDone >= 0) {
            for (const status of path.slice(firstDone)) {
              expect(["pending", "scheduled", "sending"]).not.toContain(status)
            }
          }
        })
      )
    })

    it("after delivered the status is only ever delivered or bounced", () => {
      fc.assert(
        fc.property(requestsArb, (requests) => {
          const path = walk(requests)
          const firstDelivered = path.indexOf("delivered")
          if (firstDelivered >= 0) {
            for (const status of path.slice(firstDelivered)) {
              expect(["delivered", "bounced"]).toContain(status)
            }
          }
        })
      )
    })

    it("every status is reachable from pending", () => {
      // Not a random property: a breadth-first search over the real function.
      const seen = new Set<Status>(["pending"])
      const queue: Array<Status> = ["pending"]
      for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
        for (const to of statuses) {
          if (!seen.has(to) && canTransition(current, to)) {
            seen.add(to)
            queue.push(to)
          }
        }
      }
      expect([...seen].sort()).toEqual([...statuses].sort())
    })
  })
})
