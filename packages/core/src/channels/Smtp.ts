import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import nodemailer from "nodemailer"
import type { Classification } from "./Classify.js"
import { type ChannelProvider, type EmailMessage, ProviderError, type Receipt } from "./Provider.js"

export interface SmtpConfig {
  readonly host: string
  readonly port: number
  /** Implicit TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  readonly secure: boolean
  readonly auth?: { readonly user: string; readonly password: Redacted.Redacted } | undefined
  /** `"Name <address>"` or a bare address. */
  readonly from: string
  readonly connectionTimeout: Duration.Duration
  readonly greetingTimeout: Duration.Duration
  /** Inactivity on an open connection, e.g. a server that stops answering mid-message. */
  readonly socketTimeout: Duration.Duration
  /** Connections kept open to the server, each sending one message at a time. */
  readonly maxConnections: number
}

export const config: Config.Config<SmtpConfig> = Config.all({
  host: Config.string("SMTP_HOST"),
  port: Config.port("SMTP_PORT").pipe(Config.withDefault(587)),
  secure: Config.boolean("SMTP_SECURE").pipe(Config.withDefault(false)),
  user: Config.option(Config.string("SMTP_USER")),
  password: Config.option(Config.redacted("SMTP_PASSWORD")),
  from: Config.string("EMAIL_FROM"),
  connectionTimeout: Config.duration("SMTP_CONNECTION_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10))),
  greetingTimeout: Config.duration("SMTP_GREETING_TIMEOUT").pipe(Config.withDefault(Duration.seconds(10))),
  socketTimeout: Config.duration("SMTP_SOCKET_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30))),
  maxConnections: Config.integer("SMTP_MAX_CONNECTIONS").pipe(Config.withDefault(5))
}).pipe(
  Config.map(({ user, password, ...rest }) => ({
    ...rest,
    // Relays that need no login (a local MTA, a VPC relay) are configured without SMTP_USER.
    auth: Option.getOrUndefined(
      Option.map(user, (user) => ({ user, password: Option.getOrElse(password, () => Redacted.make("")) }))
    )
  }))
)

const provider = "smtp"

/** What nodemailer attaches to its errors (see nodemailer's `NodemailerError`). */
interface SmtpFailure {
  readonly code?: unknown
  readonly responseCode?: unknown
  readonly command?: unknown
  readonly message?: unknown
}

// RFC 5321 mailbox-level refusals: unavailable/unknown (550), not local (551), name not allowed (553).
const recipientRefusals: ReadonlySet<number> = new Set([550, 551, 553])

// Failures to reach or keep talking to the server; nodemailer keeps the system code in `originalCode`.
const connectionCodes: ReadonlySet<string> = new Set([
  "ECONNECTION",
  "ECONNREFUSED",
  "ECONNRESET",
  "EDNS",
  "EPIPE",
  "EPROXY",
  "ESOCKET",
  "ETLS"
])

// Failures of our own message or settings, which the same attempt would hit again.
const permanentCodes: ReadonlySet<string> = new Set(["ECONFIG", "EENVELOPE", "EMESSAGE", "ENOAUTH", "EMAXRECIPIENTS"])

/**
 * A nodemailer failure as a classification. The SMTP reply decides when there is one: 4yz is
 * transient, 5yz permanent (but 503, a bad command sequence, passes on a new connection).
 */
export const classifyError = (error: unknown): Classification => {
  const failure: SmtpFailure = typeof error === "object" && error !== null ? error : {}
  const code = typeof failure.code === "string" ? failure.code : undefined
  const command = typeof failure.command === "string" ? failure.command : ""
  if (typeof failure.responseCode === "number" && failure.responseCode >= 400) {
    const reply = failure.responseCode
    if (reply === 421) return { retryable: true, code: "server_error" }
    if (reply < 500 || reply === 503) return { retryable: true, code: reply === 452 ? "rate_limited" : "deferred" }
    if (reply === 530 || reply === 535 || code === "EAUTH") return { retryable: false, code: "unauthorized" }
    // A 550 to MAIL FROM or DATA refuses the sender or the content, not the recipient.
    if (recipientRefusals.has(reply) && (command === "" || command.startsWith("RCPT"))) {
      return { retryable: false, code: "invalid_recipient" }
    }
    return { retryable: false, code: "rejected" }
  }
  if (code === "ETIMEDOUT") return { retryable: true, code: "timeout" }
  if (code !== undefined && connectionCodes.has(code)) return { retryable: true, code: "connection" }
  if (code === "EAUTH") return { retryable: false, code: "unauthorized" }
  if (code !== undefined && permanentCodes.has(code)) return { retryable: false, code: "invalid_request" }
  // Unknown failures are retried: a wrongly retried one fails later anyway, a wrongly failed one is lost.
  return { retryable: true, code: "unknown" }
}

const toProviderError = (error: unknown): ProviderError =>
  new ProviderError({
    provider,
    ...classifyError(error),
    message: error instanceof Error ? error.message : String(error)
  })

/**
 * An SMTP relay through a pooled nodemailer transport, closed with the scope. Each message gets
 * `Message-ID: <notification id@notification-service>`, so a message retried after an unclear
 * failure can be recognized (and collapsed) downstream.
 */
export const make = (options: SmtpConfig): Effect.Effect<ChannelProvider<"email">, never, Scope.Scope> =>
  Effect.gen(function* () {
    const transport = yield* Effect.acquireRelease(
      Effect.sync(() =>
        nodemailer.createTransport({
          pool: true,
          maxConnections: options.maxConnections,
          host: options.host,
          port: options.port,
          secure: options.secure,
          ...(options.auth === undefined
            ? {}
            : { auth: { user: options.auth.user, pass: Redacted.value(options.auth.password) } }),
          connectionTimeout: Duration.toMillis(options.connectionTimeout),
          greetingTimeout: Duration.toMillis(options.greetingTimeout),
          socketTimeout: Duration.toMillis(options.socketTimeout),
          // Bodies come from templates with user data in them: never let them read files or URLs.
          disableFileAccess: true,
          disableUrlAccess: true
        })
      ),
      (transport) => Effect.sync(() => transport.close())
    )

    const send = (message: EmailMessage): Effect.Effect<Receipt, ProviderError> =>
      Effect.tryPromise({
        // The signal aborts the SMTP exchange when the caller gives up (its timeout, shutdown).
        try: (signal) =>
          transport.sendMail({
            from: options.from,
            to: message.to,
            subject: message.subject,
            text: message.text,
            ...(message.html === null ? {} : { html: message.html }),
            messageId: `<${message.idempotencyKey}@notification-service>`,
            headers: { "X-Notification-Id": message.idempotencyKey },
            signal
          }),
        catch: toProviderError
      }).pipe(Effect.map((info) => ({ provider, messageId: info.messageId })))

    return { name: provider, channel: "email", send }
  })
