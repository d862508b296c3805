import { PgClient } from "@effect/sql-pg"
import { runMigrations } from "@notification-service/migrations"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { TestProject } from "vitest/node"
import { startDatabase } from "./database.js"
import { startKafka } from "./kafkaSetup.js"

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string
    databaseKind: string
  }
}

/**
 * One database for the run, migrated once: `DATABASE_URL` (a fresh database is created on that
 * server and dropped afterwards), else a testcontainers Postgres when Docker answers, else PGlite.
 * Kafka likewise, once: see `kafkaSetup.ts`.
 */
export default async function setup(project: TestProject) {
  const database = await startDatabase()
  console.log(`[tests] database: ${database.kind}`)
  await Effect.runPromise(
    runMigrations.pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(database.url), maxConnections: 1 })),
      Effect.scoped
    )
  )
  project.provide("databaseUrl", database.url)
  project.provide("databaseKind", database.kind)
  // One broker for the whole run (KAFKA_BROKERS, testcontainers or the mock), not one per file.
  const kafka = await startKafka()
  project.provide("kafka", kafka.kafka)
  return async () => {
    await kafka.stop()
    await database.stop()
  }
}
