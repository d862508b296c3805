import type { AddressInfo } from "node:net"
import * as Effect from "effect/Effect"
import { type ParsedMail, simpleParser } from "mailparser"
import { SMTPServer } from "smtp-server"

export { make as makeRecorder, type Recorder } from "../../packages/core/test/channels/recorder.js"

export interface ReceivedMail {
  readonly envelope: { readonly from: string; readonly to: ReadonlyArray<string> }
  readonly mail: ParsedMail
}

/** A real SMTP server in the test process, on a random port, keeping every message it receives. */
export const makeSmtpServer = Effect.gen(function* () {
  const received: Array<ReceivedMail> = []
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
    }
  })
  const port = yield* Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.server.address() as AddressInfo).port)))
    }),
    () => Effect.async<void>((resume) => server.close(() => resume(Effect.void)))
  )
  return { port, received } as const
})
