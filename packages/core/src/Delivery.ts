import type * as HttpClient from "@effect/platform/HttpClient"
import type { Channel } from "@notification-service/domain"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { type ChannelConfig, CircuitBreakerConfig, channelConfig } from "./AppConfig.js"
import * as Fcm from "./channels/Fcm.js"
import * as Log from "./channels/Log.js"
import { type ChannelProvider, type Message, type MessageOf, ProviderError, type Receipt } from "./channels/Provider.js"
import * as SendGrid from "./channels/SendGrid.js"
import * as Smtp from "./channels/Smtp.js"
import * as Twilio from "./channels/Twilio.js"
import { makeErrorRate, providerErrors } from "./DeliveryMetrics.js"
import * as Bulkhead from "./resilience/Bulkhead.js"
import * as CircuitBreaker from "./resilience/CircuitBreaker.js"
import * as Failover from "./resilience/Failover.js"
import * as Retry from "./resilience/Retry.js"

/**
 * How one delivery ended. `Unavailable` is retryable trouble (every provider open-circuited, the
 * bulkhead full, retries used up, or a long `Retry-After`): the dispatcher puts the notification
 * back in the queue. `Rejected` is permanent: the notification fails.
 */
export type DeliveryResult =
  | { readonly _tag: "Delivered"; readonly receipt: Receipt; readonly attempts: number }
  | {
      readonly _tag: "Rejected"
      readonly provider: string
      readonly code: string
      readonly message: string
      readonly attempts: number
    }
  | {
      readonly _tag: "Unavailable"
      readonly provider: string | null
      readonly code: string
      readonly message: string
      readonly retryAfter: Duration.Duration | undefined
      readonly attempts: number
    }

type AnyProvider = ChannelProvider<"email"> | ChannelProvider<"sms"> | ChannelProvider<"push">

type Built = Effect.Effect<AnyProvider, ConfigError.ConfigError, HttpClient.HttpClient | Scope.Scope>

/** The providers each channel can use, by the name `<CHANNEL>_PROVIDERS` lists them with. */
const registry: { readonly [C in Channel]: Readonly<Record<string, () => Built>> } = {
  email: {
    smtp: () => Effect.flatMap(Smtp.config, Smtp.make),
    sendgrid: () => Effect.flatMap(SendGrid.config, SendGrid.make),
    log: () => Log.make("email")
  },
  sms: {
    twilio: () => Effect.flatMap(Twilio.config, Twilio.make),
    log: () => Log.make("sms")
  },
  push: {
    fcm: () => Effect.flatMap(Fcm.config, Fcm.make),
    log: () => Log.make("push")
  }
}

const buildProvider = (channel: Channel, name: string): Built => {
  const build = Object.hasOwn(registry[channel], name) ? registry[channel][name] : undefined
  return build === undefined
    ? Effect.fail(
        ConfigError.InvalidData(
          [`${channel.toUpperCase()}_PROVIDERS`],
          `unknown ${channel} provider '${name}' (known: ${Object.keys(registry[channel]).join(", ")})`
        )
      )
    : build()
}

interface Guarded {
  readonly provider: AnyProvider
  readonly breaker: CircuitBreaker.CircuitBreaker
}

interface Lane {
  readonly channel: Channel
  readonly config: ChannelConfig
  readonly bulkhead: Bulkhead.Bulkhead
  readonly providers: readonly [Guarded, ...Array<Guarded>]
}

const isFailoverError = (error: ProviderError | CircuitBreaker.CircuitOpen): boolean =>
  error._tag === "CircuitOpen" || error.retryable

export class Delivery extends Effect.Service<Delivery>()("core/Delivery", {
  scoped: Effect.gen(function* () {
    const breakerConfig = yield* CircuitBreakerConfig
    const errorRate = yield* makeErrorRate

    const makeLane = (channel: Channel) =>
      Effect.gen(function* () {
        const config = yield* channelConfig(channel)
        const names = config.providers.length === 0 ? ["log"] : config.providers
        const guarded = yield* Effect.forEach(names, (name) =>
          Effect.gen(function* () {
            const provider = yield* buildProvider(channel, name.trim())
            const breaker = yield* CircuitBreaker.make({
              name: `${channel}:${provider.name}`,
              ...breakerConfig,
              // A provider refusing one message (bad address) is healthy; only retryable trouble counts.
              isFailure: (error) => !(error instanceof ProviderError) || error.retryable
            })
            return { provider, breaker }
          })
        )
        const bulkhead = yield* Bulkhead.make({ name: channel, ...config.bulkhead })
        const [first, ...rest] = guarded
        if (first === undefined) return yield* Effect.dieMessage("unreachable: a channel has at least one provider")
        yield* Effect.logInfo("delivery channel ready").pipe(
          Effect.annotateLogs({ channel, providers: guarded.map((g) => g.provider.name) })
        )
        return { channel, config, bulkhead, providers: [first, ...rest] } satisfies Lane
      })

    const lanes: { readonly [C in Channel]: Lane } = {
      email: yield* makeLane("email"),
      sms: yield* makeLane("sms"),
      push: yield* makeLane("push")
    }

    const callProvider = (lane: Lane, guarded: Guarded, message: Message, attempts: Ref.Ref<number>) => {
      const { provider } = guarded
      const once = (provider.send as (message: Message) => Effect.Effect<Receipt, ProviderError>)(message).pipe(
        Effect.timeoutFail({
          duration: lane.config.timeout,
          onTimeout: () =>
            new ProviderError({
              provider: provider.name,
              retryable: true,
              code: "timeout",
              message: `${provider.name} did not answer within ${Duration.format(lane.config.timeout)}`
            })
        }),
        Effect.tapBoth({
          onFailure: (error) =>
            Effect.zipRight(
              errorRate.record(lane.channel, error.code),
              Metric.update(
                providerErrors.pipe(
                  Metric.tagged("type", lane.channel),
                  Metric.tagged("provider", provider.name),
                  Metric.tagged("error", error.code)
                ),
                1
              )
            ),
          onSuccess: () => errorRate.record(lane.channel, undefined)
        }),
        Effect.withSpan(`Delivery.${provider.name}`, { attributes: { "notification.channel": lane.channel } })
      )
      return guarded.breaker.execute(
        Retry.retry(once, lane.config.retry, {
          isRetryable: (error) => error.retryable,
          retryAfter: (error) => error.retryAfter,
          onAttempt: () => Ref.update(attempts, (n) => n + 1)
        })
      )
    }

    /** bulkhead -> failover over the channel's providers -> breaker -> retry -> timeout -> provider. */
    const deliver = <C extends Channel>(message: MessageOf<C>): Effect.Effect<DeliveryResult> =>
      Effect.gen(function* () {
        const lane = lanes[message._tag]
        const attempts = yield* Ref.make(0)
        const outcome = yield* lane.bulkhead
          .execute(
            Failover.failover(lane.providers, (guarded) => callProvider(lane, guarded, message, attempts), {
              shouldFailover: isFailoverError
            })
          )
          .pipe(Effect.either)
        const made = yield* Ref.get(attempts)
        if (outcome._tag === "Right") {
          return { _tag: "Delivered", receipt: outcome.right.value, attempts: made } satisfies DeliveryResult
        }
        const error = outcome.left
        switch (error._tag) {
          case "BulkheadFull":
            return {
              _tag: "Unavailable",
              provider: null,
              code: "bulkhead_full",
              message: error.message,
              retryAfter: undefined,
              attempts: made
            } satisfies DeliveryResult
          case "CircuitOpen":
            return {
              _tag: "Unavailable",
              provider: null,
              code: "circuit_open",
              message: error.message,
              retryAfter: error.retryAfter,
              attempts: made
            } satisfies DeliveryResult
          case "ProviderError":
            return error.retryable
              ? ({
                  _tag: "Unavailable",
                  provider: error.provider,
                  code: error.code,
                  message: error.message,
                  retryAfter: error.retryAfter,
                  attempts: made
                } satisfies DeliveryResult)
              : ({
                  _tag: "Rejected",
                  provider: error.provider,
                  code: error.code,
                  message: error.message,
                  attempts: made
                } satisfies DeliveryResult)
        }
      }).pipe(Effect.withSpan("Delivery.deliver", { attributes: { "notification.channel": message._tag } }))

    return { deliver } as const
  })
}) {}
