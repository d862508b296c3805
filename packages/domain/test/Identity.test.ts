import { describe, expect, it } from "@effect/vitest"
import { contactDetailsOf, noContactDetails, UserContactChanged } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

const event = (overrides: Record<string, unknown> = {}) => ({
  event_id: "01a2088e-9d19-72ad-a89a-b602ec9b233f",
  event_type: "user.updated",
  user_id: 42,
  version: 3,
  email: "ada@example.com",
  phone: "+447700900123",
  device_tokens: ["old-device", "new-device"],
  locale: "en-GB",
  timezone: "Europe/London",
  occurred_at: "2026-11-23T12:00:00.000Z",
  ...overrides
})

const decode = Schema.decodeUnknownEither(UserContactChanged)

const decoded = (value: unknown) => {
  const result = decode(value)
  if (Either.isLeft(result)) throw new Error(ParseResult.TreeFormatter.formatErrorSync(result.left))
  return result.right
}

const failure = (value: unknown) => {
  const result = decode(value)
  return Either.isLeft(result) ? ParseResult.TreeFormatter.formatErrorSync(result.left) : undefined
}

describe("UserContactChanged", () => {
  it("decodes created and updated events with their contact details", () => {
    for (const event_type of ["user.created", "user.updated"]) {
      const value = decoded(event({ event_type }))
      expect(value).toMatchObject({ event_type, user_id: 42, version: 3, email: "ada@example.com" })
      expect(DateTime.formatIso(value.occurred_at)).toBe("2026-11-23T12:00:00.000Z")
    }
  })

  it("reads a snapshot's absent fields as none, not as unchanged", () => {
    const value = decoded({
      event_id: "01a2088e-9d19-72ad-a89a-b602ec9b233f",
      event_type: "user.created",
      user_id: 7,
      version: 1,
      email: "ada@example.com",
      occurred_at: "2026-11-23T12:00:00Z"
    })
    expect(contactDetailsOf(value)).toEqual({ ...noContactDetails, email: "ada@example.com" })
    expect(contactDetailsOf(decoded(event({ phone: null, locale: null, timezone: null })))).toEqual({
      email: "ada@example.com",
      phone: null,
      device_tokens: ["old-device", "new-device"],
      locale: null,
      timezone: null
    })
  })

  it("stores one spelling per time zone", () => {
    expect(contactDetailsOf(decoded(event({ timezone: "europe/london" }))).timezone).toBe("Europe/London")
  })

  it("erases every detail on deletion, ignoring whatever else the event carries", () => {
    const value = decoded(event({ event_type: "user.deleted", phone: "not a phone", email: 12 }))
    expect(value).toEqual({
      event_id: "01a2088e-9d19-72ad-a89a-b602ec9b233f",
      event_type: "user.deleted",
      user_id: 42,
      version: 3,
      occurred_at: expect.anything()
    })
    expect(contactDetailsOf(value)).toEqual(noContactDetails)
  })

  it("refuses malformed contact details", () => {
    expect(failure(event({ phone: "07700 900123" }))).toMatch(/must be an E\.164 phone number/)
    expect(failure(event({ email: "ada" }))).toMatch(/must be an email address/)
    expect(failure(event({ timezone: "Mars/Olympus" }))).toMatch(/must be an IANA time zone/)
    expect(failure(event({ device_tokens: [""] }))).toBeDefined()
    expect(failure(event({ device_tokens: "one-token" }))).toBeDefined()
    expect(failure(event({ locale: "" }))).toBeDefined()
  })

  it("refuses events without a usable identity, version, type or time", () => {
    expect(failure(event({ event_id: "not-a-uuid" }))).toBeDefined()
    expect(failure(event({ user_id: 0 }))).toBeDefined()
    expect(failure(event({ user_id: "42" }))).toBeDefined()
    expect(failure(event({ version: 0 }))).toBeDefined()
    expect(failure(event({ version: 1.5 }))).toBeDefined()
    expect(failure(event({ event_type: "user.renamed" }))).toBeDefined()
    expect(failure(event({ occurred_at: "2026-11-23 12:00:00" }))).toMatch(/ISO 8601 UTC/)
    expect(failure(event({ occurred_at: "2026-11-23T12:00:00+01:00" }))).toMatch(/ISO 8601 UTC/)
    expect(failure(event({ event_type: "user.deleted", version: undefined }))).toBeDefined()
  })
})
