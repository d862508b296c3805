import * as Schema from "effect/Schema"

export const Channel = Schema.Literal("email", "sms", "push").annotations({
  title: "Channel",
  description: "Delivery channel."
})
export type Channel = typeof Channel.Type

export const Priority = Schema.Literal("high", "normal", "low").annotations({
  title: "Priority",
  description: "`high` is for security and payment alerts; the delivery issue lets it bypass quiet hours."
})
export type Priority = typeof Priority.Type
