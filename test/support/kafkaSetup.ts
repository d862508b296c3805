import { execFile, spawn } from "node:child_process"
import { mkdirSync, renameSync, rmSync, statSync } from "node:fs"
import { Socket } from "node:net"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

/** A broker to test against; `brokers` are `host:port` bootstrap addresses. */
export interface KafkaFound {
  readonly brokers: ReadonlyArray<string>
  readonly kind: string
}

/** No broker could be found or started here; `skip` says why (printed with the skipped tests). */
export interface KafkaUnavailable {
  readonly skip: string
}

export type KafkaDiscovery = KafkaFound | KafkaUnavailable

declare module "vitest" {
  export interface ProvidedContext {
    /** Set by globalSetup when it starts Kafka once for the run (see kafka.ts). */
    kafka: KafkaDiscovery
  }
}

export interface StartedKafka {
  readonly kafka: KafkaDiscovery
  /** Stops what `startKafka` started (nothing for `KAFKA_BROKERS`); safe to call twice. */
  readonly stop: () => Promise<void>
}

const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const noop = async () => {}

const fromEnvironment = (): StartedKafka | undefined => {
  const brokers = (process.env.KAFKA_BROKERS ?? "")
    .split(",")
    .map((broker) => broker.trim())
    .filter((broker) => broker !== "")
  if (brokers.length === 0) return undefined
  return { kafka: { brokers, kind: `KAFKA_BROKERS (${brokers.join(",")})` }, stop: noop }
}

const KAFKA_IMAGE = "apache/kafka:3.8.0"

const fromTestcontainers = async (): Promise<StartedKafka | string> => {
  let runtimeHost: string
  try {
    const { getContainerRuntimeClient } = await import("testcontainers")
    runtimeHost = (await getContainerRuntimeClient()).info.containerRuntime.host
  } catch (error) {
    return `no Docker engine for testcontainers (${describeError(error)})`
  }
  try {
    const { GenericContainer, RandomPortGenerator, Wait } = await import("testcontainers")
    // Kafka hands clients the advertised address, so it must know the host port before it
    // starts: pick one and bind it explicitly instead of letting Docker map 9092 at random.
    const port = await new RandomPortGenerator().generatePort()
    const container = await new GenericContainer(KAFKA_IMAGE)
      .withExposedPorts({ container: 9092, host: port })
      .withEnvironment({
        KAFKA_NODE_ID: "1",
        KAFKA_PROCESS_ROLES: "broker,controller",
        KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9093",
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${runtimeHost}:${port}`,
        KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
        KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9093",
        KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
        KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
        // A single-member group should not wait 3 s for others before its first assignment.
        KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
        // Same as the librdkafka mock, so that tests see one partition count wherever they run.
        KAFKA_NUM_PARTITIONS: "4"
      })
      .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
      .withStartupTimeout(120_000)
      .start()
    const broker = `${container.getHost()}:${port}`
    let stopped = false
    return {
      kafka: { brokers: [broker], kind: `testcontainers ${KAFKA_IMAGE} (${broker})` },
      stop: async () => {
        if (stopped) return
        stopped = true
        await container.stop()
      }
    }
  } catch (error) {
    return `Docker answers but ${KAFKA_IMAGE} did not start (${describeError(error)})`
  }
}

const mockSource = fileURLToPath(new URL("./kafka-mock/kafka-mock.c", import.meta.url))
// Under node_modules so that it is ignored by git and Biome, and rebuilt after a fresh `npm ci`.
const mockDir = fileURLToPath(new URL("../../node_modules/.cache/kafka-mock/", import.meta.url))
/** Where `buildMock` puts the launcher (the benchmarks start it too). */
export const mockBinary = `${mockDir}kafka-mock`

const mtime = (path: string): number | undefined => {
  try {
    return statSync(path).mtimeMs
  } catch {
    return undefined
  }
}

/** Builds the launcher unless an up-to-date one exists; returns why not when it cannot. */
export const buildMock = async (): Promise<string | undefined> => {
  const built = mtime(mockBinary)
  const source = mtime(mockSource)
  if (built !== undefined && source !== undefined && built >= source) return undefined
  mkdirSync(mockDir, { recursive: true })
  // Test processes may build at the same time: each compiles to its own file, then renames.
  const scratch = `${mockBinary}.${process.pid}.tmp`
  try {
    await promisify(execFile)(process.env.CC ?? "gcc", ["-O2", "-o", scratch, mockSource, "-lrdkafka"], {
      timeout: 60_000
    })
    renameSync(scratch, mockBinary)
    return undefined
  } catch (error) {
    rmSync(scratch, { force: true })
    const stderr =
      typeof error === "object" && error !== null && "stderr" in error && typeof error.stderr === "string"
        ? error.stderr
        : ""
    const detail = stderr.split("\n").find((line) => line.includes("error")) ?? describeError(error)
    return `cannot build the librdkafka mock launcher (needs gcc and librdkafka-dev: apt-get install librdkafka-dev): ${detail.trim()}`
  }
}

const BOOTSTRAPS = /^[\w.-]+:\d+(,[\w.-]+:\d+)*$/

const fromMock = async (): Promise<StartedKafka | string> => {
  const unbuildable = await buildMock()
  if (unbuildable !== undefined) return unbuildable
  // --die-with-parent: a test worker killed outright (no exit handlers) still takes its broker along.
  const child = spawn(mockBinary, ["--die-with-parent"], { stdio: ["ignore", "pipe", "inherit"] })
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM")
  }
  try {
    const bootstraps = await new Promise<string>((resolve, reject) => {
      let output = ""
      const timer = setTimeout(() => reject(new Error("printed no bootstrap address within 10 s")), 10_000)
      child.stdout.setEncoding("utf8")
      child.stdout.on("data", (chunk: string) => {
        output += chunk
        const newline = output.indexOf("\n")
        if (newline < 0) return
        clearTimeout(timer)
        const line = output.slice(0, newline).trim()
        if (BOOTSTRAPS.test(line)) resolve(line)
        else reject(new Error(`printed ${JSON.stringify(line)} instead of a bootstrap address`))
      })
      child.once("error", (error) => {
        clearTimeout(timer)
        reject(error)
      })
      child.once("exit", (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`exited (${signal ?? code}) before printing its bootstrap address`))
      })
    })
    // The mock must not keep a test process alive: it is stopped by `stop`, at exit, or by the kernel.
    child.unref()
    if (child.stdout instanceof Socket) child.stdout.unref()
    process.once("exit", kill)
    return {
      kafka: { brokers: bootstraps.split(","), kind: `librdkafka mock cluster (${bootstraps}, pid ${child.pid})` },
      stop: async () => {
        process.removeListener("exit", kill)
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
        kill()
        await exited
      }
    }
  } catch (error) {
    kill()
    return `the librdkafka mock launcher ${mockBinary} failed: ${describeError(error)}`
  }
}

/**
 * A Kafka for the tests: `KAFKA_BROKERS` (comma-separated; `.ci/run` exports it), else a
 * testcontainers Kafka when a Docker engine answers, else librdkafka's mock cluster built from
 * `kafka-mock/kafka-mock.c` (needs gcc and librdkafka-dev), else why none (tests then skip).
 *
 * Meant for vitest's globalSetup (one broker for the run, handed to the workers with
 * `project.provide("kafka", started.kafka)`); `kafkaBrokers()` in kafka.ts calls it itself when
 * globalSetup did not.
 */
export const startKafka = async (): Promise<StartedKafka> => {
  const fromEnv = fromEnvironment()
  if (fromEnv !== undefined) return fromEnv
  const container = await fromTestcontainers()
  if (typeof container !== "string") return container
  console.log(`[tests] kafka: ${container}`)
  const mock = await fromMock()
  if (typeof mock !== "string") return mock
  return { kafka: { skip: `no Kafka: KAFKA_BROKERS is unset; ${container}; ${mock}` }, stop: noop }
}
