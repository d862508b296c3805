import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import { type ParsedMail, simpleParser } from "mailparser"
import { SMTPServer, type SMTPServerOptions } from "smtp-server"

export interface Received {
  readonly envelope: { readonly from: string; readonly to: ReadonlyArray<string> }
  readonly mail: ParsedMail
}

/** An SMTP server in this process, on a random port, keeping what it receives (parsed). */
export const smtpServer = (options: Partial<SMTPServerOptions> = {}) =>
  Effect.gen(function* () {
    const received: Array<Received> = []
    const closed = { connections: 0 }
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ["STARTTLS"],
      secure: false,
      logger: false,
      onData: (stream, session, callback) => {
        simpleParser(stream).then(
          (mail) => {
            const envelope = session.envelope
            received.push({
              envelope: {
                from: envelope.mailFrom === false ? "" : envelope.mailFrom.address,
                to: envelope.rcptTo.map((rcpt) => rcpt.address)
              },
              mail
            })
            callback()
          },
          (error: Error) => callback(error)
        )
      },
      onClose: (_session, callback) => {
        closed.connections++
        callback?.()
      },
      ...options
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.server.address() as AddressInfo).port)))
      }),
      () => Effect.async<void>((resume) => server.close(() => resume(Effect.void)))
    )
    return { port, received, closed }
  })
