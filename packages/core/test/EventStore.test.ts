import { describe, expect, it } from "@effect/vitest"
import { evolve, fold } from "../src/EventStore.js"

describe("EventStore.evolve / fold", () => {
  it("a state is its first event's columns, each later event's columns over it, at the last version", () => {
    const events = [
      { version: 1, data: { id: "n1", status: "pending", attempts: 0, due_at: "2026-11-23T10:00:00.000Z" } },
      { version: 2, data: { status: "sending", due_at: null, lease_expires_at: "2026-11-23T10:05:00.000Z" } },
      { version: 3, data: { status: "sent", attempts: 1, lease_expires_at: null } }
    ]
    expect(fold(events)).toEqual({
      id: "n1",
      status: "sent",
      attempts: 1,
      due_at: null,
      lease_expires_at: null,
      version: 3
    })
  })

  it("folding from a snapshot equals folding every event", () => {
    const events = Array.from({ length: 7 }, (_, i) => ({
      version: i + 1,
      data: { [`c${i % 3}`]: i, status: `s${i}` }
    }))
    const snapshot = fold(events.slice(0, 4))
    expect(fold(events.slice(4), snapshot)).toEqual(fold(events))
  })

  it("no events, no state; an event's null clears a column", () => {
    expect(fold([])).toBeUndefined()
    expect(evolve({ provider: "log", version: 4 }, { version: 5, data: { provider: null } })).toEqual({
      provider: null,
      version: 5
    })
  })
})
