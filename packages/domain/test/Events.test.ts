import { describe, expect, it } from "@effect/vitest"
import { decodeEvent, EventType, payloadSchemas } from "@notification-service/domain"
import * as Either from "effect/Either"

const envelope = (overrides: Record<string, unknown> = {}) => ({
  event_id: "01a2088e-9d19-72ad-a89a-b602ec9b233f",
  event_type: "notification.sent",
  aggregate_id: "01a2088e-9d41-7ba0-8000-000000000001",
  user_id: 42,
  correlation_id: "01a2088e-a1e9-7c63-a98f-dcc5205b5cee",
  causation_id: null,
  payload: {
    notification_id: "01a2088e-9d41-7ba0-8000-000000000001",
    notification_type: "email",
    status: "sent",
    template_id: "01a2088e-9d19-72ad-a89a-b602ec9b233f",
    attempts: 1
  },
  metadata: { provider: "smtp", message_id: "<x@y>" },
  timestamp: "2026-11-23T12:00:00.000Z",
  version: 1,
  ...overrides
})

const failure = (value: unknown) => {
  const result = decodeEvent(typeof value === "string" ? value : JSON.stringify(value))
  return Either.isLeft(result) ? result.left.message : undefined
}

describe("event envelope", () => {
  it("decodes an envelope and its payload by type and version", () => {
    const decoded = decodeEvent(JSON.stringify(envelope()))
    expect(Either.isRight(decoded)).toBe(true)
    if (Either.isRight(decoded)) {
      expect(decoded.right).toMatchObject({ event_type: "notification.sent", payload: { attempts: 1 } })
    }
  })

  it("refuses an unknown payload version instead of guessing", () => {
    expect(failure(envelope({ version: 2 }))).toBe("notification.sent version 2 is not known to this service")
  })

  it("refuses what is not JSON, not an envelope, or a payload that does not match its type", () => {
    expect(failure("{not json")).toMatch(/^not JSON/)
    expect(failure({ ...envelope(), timestamp: "yesterday" })).toMatch(/^not an event envelope/)
    expect(failure(envelope({ event_type: "notification.exploded" }))).toMatch(/^not an event envelope/)
    expect(failure(envelope({ payload: { notification_id: "x" } }))).toMatch(/^invalid notification.sent v1 payload/)
  })

  it("has exactly the contract's fields", () => {
    const { payload: _payload, ...rest } = envelope()
    expect(Object.keys({ ...rest, payload: null }).sort()).toEqual(
      [
        "event_id",
        "event_type",
        "aggregate_id",
        "user_id",
        "correlation_id",
        "causation_id",
        "payload",
        "metadata",
        "timestamp",
        "version"
      ].sort()
    )
    expect(failure({ ...envelope(), extra: 1 })).toBeUndefined()
  })

  it("covers every event type of the catalogue", () => {
    expect([...EventType.literals].sort()).toEqual(Object.keys(payloadSchemas).sort())
    expect(EventType.literals).toHaveLength(9)
  })

  it("a notification.requested command carries a send request", () => {
    const command = envelope({
      event_type: "notification.requested",
      aggregate_id: "cmd-1",
      payload: { user_id: 42, template_name: "payment_received", variables: { amount: "€1" } },
      metadata: {}
    })
    expect(failure(command)).toBeUndefined()
    expect(failure({ ...command, payload: { user_id: 42 } })).toMatch(/exactly one of template_id and template_name/)
  })
})
