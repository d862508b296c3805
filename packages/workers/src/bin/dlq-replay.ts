import { NodeRuntime } from "@effect/platform-node"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import {
  type DlqReplayRecord,
  DlqReplayUsageError,
  dlqReplayUsage,
  parseDlqReplayArgs,
  replayDeadLetters
} from "../DlqReplay.js"
import { ProducerLive } from "../Kafka.js"

/**
 * `npm run dlq:replay -- --topic <dead-letter topic> [options]`: see `dlqReplayUsage`.
 * Stdout carries only the report (`--json`: one JSON document), so that it can be piped.
 */

// Records without `dlq.original.partition` are partitioned by key as the service's own producers
// do, on purpose: kafkajs's notice about its v2 default partitioner is noise here.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= "1"

const describeRecord = (record: DlqReplayRecord): string => {
  const action = { replayed: "replayed", "would-replay": "would replay", skipped: "skipped" }[record.outcome]
  const details = [record.exceptionClass, record.eventType, record.failedAt && `failed ${record.failedAt}`]
    .filter((detail) => detail !== null && detail !== "")
    .join(", ")
  const where = record.outcome === "skipped" ? `: ${record.reason}` : ` -> ${record.target} (#${record.replayCount})`
  return `${action} ${record.partition}@${record.offset} key=${record.key ?? "(none)"} [${details}]${where}`
}

const program = Effect.gen(function* () {
  const command = yield* parseDlqReplayArgs(process.argv.slice(2))
  if (command._tag === "Help") return yield* Console.log(dlqReplayUsage)
  const { options, json } = command
  const records: Array<DlqReplayRecord> = []
  const summary = yield* replayDeadLetters({
    ...options,
    // Text goes out as it happens; JSON has to wait for the whole document.
    onRecord: (record) => (json ? Effect.sync(() => void records.push(record)) : Console.log(describeRecord(record)))
  }).pipe(Effect.provide(ProducerLive))
  if (json) return yield* Console.log(JSON.stringify({ ...summary, records }))
  const { scanned, matched, replayed, skipped, dryRun } = summary
  yield* Console.log(
    `${options.topic}: scanned ${scanned}, matched ${matched}, replayed ${replayed}, skipped ${skipped}` +
      (dryRun ? ` (dry run: ${matched - skipped} would be replayed, nothing was produced)` : "")
  )
})

const isUsageError = Schema.is(DlqReplayUsageError)

const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  if (Cause.isInterruptedOnly(exit.cause)) return 130
  return Option.exists(Cause.failureOption(exit.cause), isUsageError) ? 2 : 1
}

program.pipe(
  Effect.tapErrorCause((cause) =>
    Effect.sync(() => {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && isUsageError(failure.value)) {
        process.stderr.write(`dlq-replay: ${failure.value.message}\n\n${dlqReplayUsage}\n`)
      } else if (Option.isSome(failure) && failure.value._tag === "DlqReplayError") {
        process.stderr.write(`dlq-replay: ${failure.value.message}\n`)
      } else if (!Cause.isInterruptedOnly(cause)) {
        process.stderr.write(`dlq-replay: ${Cause.pretty(cause)}\n`)
      }
    })
  ),
  // Logs (producer connected, warnings) belong on stderr with the errors, not in the report.
  Effect.provide(
    Layer.merge(
      Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)),
      Logger.minimumLogLevel(LogLevel.Warning)
    )
  ),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    teardown: (exit, onExit) => onExit(exitCode(exit))
  })
)
