import { PgClient } from "@effect/sql-pg"
import { describe, expect, it, layer } from "@effect/vitest"
import { recipientFor, UserContacts } from "@notification-service/core"
import { type ContactDetails, noContactDetails, UserContactChanged, UserId } from "@notification-service/domain"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { inject } from "vitest"

const Database = PgClient.layer({
  url: Redacted.make(inject("databaseUrl")),
  maxConnections: inject("databaseKind").startsWith("PGlite") ? 1 : 2
})

// The database is shared with the other test files: every test works on users of its own.
const uniqueUserId = () => UserId.make(Math.floor(Math.random() * 1_000_000_000) + 1)

const decodeEvent = Schema.decodeUnknownSync(UserContactChanged)

const snapshot = (userId: UserId, version: number, details: Record<string, unknown> = {}) =>
  decodeEvent({
    event_id: crypto.randomUUID(),
    event_type: version === 1 ? "user.created" : "user.updated",
    user_id: userId,
    version,
    occurred_at: "2026-11-23T12:00:00.000Z",
    ...details
  })

const deleted = (userId: UserId, version: number) =>
  decodeEvent({
    event_id: crypto.randomUUID(),
    event_type: "user.deleted",
    user_id: userId,
    version,
    occurred_at: "2026-11-23T12:00:00.000Z"
  })

const ada = {
  email: "ada@example.com",
  phone: "+447700900123",
  device_tokens: ["ada-laptop", "ada-phone"],
  locale: "en-GB",
  timezone: "Europe/London"
}

const stored = (userId: UserId) =>
  Effect.flatMap(UserContacts, (contacts) => contacts.get(userId)).pipe(Effect.map(Option.getOrThrow))

const apply = (event: UserContactChanged) => Effect.flatMap(UserContacts, (contacts) => contacts.apply(event))

layer(UserContacts.Default.pipe(Layer.provide(Database)), { excludeTestServices: true })("UserContacts", (it) => {
  it.effect("knows nothing about a user before their first event", () =>
    Effect.gen(function* () {
      const contacts = yield* UserContacts
      expect(yield* contacts.get(uniqueUserId())).toEqual(Option.none())
    })
  )

  it.effect("applies a user's first event", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      expect(yield* apply(snapshot(userId, 1, ada))).toBe("applied")
      const contact = yield* stored(userId)
      expect(contact).toMatchObject({ user_id: userId, version: 1, ...ada })
    })
  )

  it.effect("replaces the details with a newer snapshot; absent fields become none", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      yield* apply(snapshot(userId, 1, ada))
      expect(yield* apply(snapshot(userId, 5, { email: "lovelace@example.com", device_tokens: ["new"] }))).toBe(
        "applied"
      )
      expect(yield* stored(userId)).toMatchObject({
        ...noContactDetails,
        email: "lovelace@example.com",
        device_tokens: ["new"],
        version: 5
      })
    })
  )

  it.effect("ignores an older or equal version, even when it arrives after a newer one", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      yield* apply(snapshot(userId, 3, ada))
      const before = yield* stored(userId)

      expect(yield* apply(snapshot(userId, 3, { email: "same-version@example.com" }))).toBe("stale")
      expect(yield* apply(snapshot(userId, 2, { email: "older@example.com" }))).toBe("stale")
      expect(yield* apply(snapshot(userId, 1, {}))).toBe("stale")
      expect(yield* stored(userId)).toEqual(before)
    })
  )

  it.effect("converges on the newest version whatever the delivery order", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      const results = yield* Effect.forEach([4, 2, 6, 1, 5, 3], (version) =>
        apply(snapshot(userId, version, { email: `v${version}@example.com` }))
      )
      expect(results).toEqual(["applied", "stale", "applied", "stale", "stale", "stale"])
      expect(yield* stored(userId)).toMatchObject({ email: "v6@example.com", version: 6 })
    })
  )

  it.effect("erases the details on deletion and keeps ignoring older updates", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      yield* apply(snapshot(userId, 1, ada))
      expect(yield* apply(deleted(userId, 4))).toBe("applied")
      expect(yield* stored(userId)).toMatchObject({ ...noContactDetails, user_id: userId, version: 4 })

      // An update from before the deletion, delivered late, must not bring the details back.
      expect(yield* apply(snapshot(userId, 3, ada))).toBe("stale")
      expect(yield* apply(deleted(userId, 4))).toBe("stale")
      expect(yield* stored(userId)).toMatchObject({ ...noContactDetails, version: 4 })
    })
  )

  it.effect("keeps a deletion that arrives before the user's other events", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      expect(yield* apply(deleted(userId, 2))).toBe("applied")
      expect(yield* apply(snapshot(userId, 1, ada))).toBe("stale")
      expect(yield* stored(userId)).toMatchObject({ ...noContactDetails, version: 2 })
    })
  )

  it.effect("applies concurrent events for one user as if in version order", () =>
    Effect.gen(function* () {
      const userId = uniqueUserId()
      const results = yield* Effect.forEach(
        [1, 2, 3, 4, 5, 6, 7, 8],
        (version) => apply(snapshot(userId, version, { email: `v${version}@example.com` })),
        { concurrency: "unbounded" }
      )
      expect(results).toContain("applied")
      expect(yield* stored(userId)).toMatchObject({ email: "v8@example.com", version: 8 })
    })
  )
})

describe("recipientFor", () => {
  const contact: ContactDetails = {
    ...noContactDetails,
    email: "ada@example.com",
    phone: "+447700900123",
    device_tokens: ["old-device", "new-device"]
  }

  it("takes the channel's address: email, phone, the most recent device token", () => {
    expect(recipientFor("email", contact)).toEqual(Option.some("ada@example.com"))
    expect(recipientFor("sms", contact)).toEqual(Option.some("+447700900123"))
    expect(recipientFor("push", contact)).toEqual(Option.some("new-device"))
  })

  it("has none for a channel the user has no address on", () => {
    for (const channel of ["email", "sms", "push"] as const) {
      expect(recipientFor(channel, noContactDetails)).toEqual(Option.none())
    }
  })
})
