import { describe, expect, it } from "@effect/vitest"
import { decide } from "@notification-service/core"
import { type Channel, defaultPreference, type Priority, UserId, UserPreference } from "@notification-service/domain"
import * as DateTime from "effect/DateTime"
import * as fc from "fast-check"

const preference = (overrides: Partial<ConstructorParameters<typeof UserPreference>[0]> = {}) =>
  new UserPreference({ ...defaultPreference(UserId.make(7)), ...overrides })

const at = (iso: string) => DateTime.unsafeMake(iso)
const channels: ReadonlyArray<Channel> = ["email", "sms", "push"]
const priorities: ReadonlyArray<Priority> = ["high", "normal", "low"]

describe("decide", () => {
  it("a disabled channel suppresses at any priority and any time", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...channels),
        fc.constantFrom(...priorities),
        fc.date({ min: new Date("2020-01-01"), max: new Date("2030-01-01"), noInvalidDate: true }),
        (channel, priority, date) => {
          const disabled = preference({ [`${channel}_enabled`]: false })
          expect(decide({ channel, priority }, disabled, DateTime.unsafeMake(date))).toEqual({
            _tag: "Suppress",
            reason: `The user has turned off ${channel} notifications.`
          })
        }
      )
    )
  })

  it("other channels of that user are unaffected", () => {
    const noSms = preference({ sms_enabled: false })
    expect(decide({ channel: "email", priority: "normal" }, noSms, at("2026-06-01T12:00:00Z"))).toEqual({
      _tag: "Send"
    })
  })

  it("quiet hours defer normal and low priority to the end of the window, in the user's zone", () => {
    // 22:00-07:00 in London; 2026-06-01 23:30 BST is 22:30 UTC.
    const quiet = preference({ quiet_hours_start: "22:00", quiet_hours_end: "07:00", timezone: "Europe/London" })
    for (const priority of ["normal", "low"] as const) {
      const decision = decide({ channel: "sms", priority }, quiet, at("2026-06-01T22:30:00Z"))
      expect(decision._tag).toBe("Defer")
      if (decision._tag === "Defer") {
        expect(DateTime.formatIso(decision.until)).toBe("2026-06-02T06:00:00.000Z")
        expect(decision.reason).toBe("Quiet hours (22:00-07:00 Europe/London) until 2026-06-02T06:00:00.000Z.")
      }
    }
  })

  it("high priority bypasses quiet hours", () => {
    const quiet = preference({ quiet_hours_start: "22:00", quiet_hours_end: "07:00", timezone: "Europe/London" })
    expect(decide({ channel: "sms", priority: "high" }, quiet, at("2026-06-01T22:30:00Z"))).toEqual({ _tag: "Send" })
  })

  it("outside quiet hours, or without any, it sends", () => {
    const quiet = preference({ quiet_hours_start: "22:00", quiet_hours_end: "07:00", timezone: "Europe/London" })
    expect(decide({ channel: "push", priority: "low" }, quiet, at("2026-06-01T12:00:00Z"))).toEqual({ _tag: "Send" })
    expect(decide({ channel: "push", priority: "low" }, preference(), at("2026-06-01T23:00:00Z"))).toEqual({
      _tag: "Send"
    })
  })
})
