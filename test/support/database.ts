import { randomUUID } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"

export interface TestDatabase {
  readonly kind: string
  readonly url: string
  readonly stop: () => Promise<void>
}

/** A fresh, empty database on the server `serverUrl` names; `stop` drops it. */
export const freshDatabase = async (serverUrl: string): Promise<TestDatabase> => {
  // Several per process, possibly within a millisecond: a random suffix rather than the clock.
  const name = `ns_test_${randomUUID().replaceAll("-", "").slice(0, 16)}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    kind: `DATABASE_URL (fresh database ${name} on ${url.host})`,
    url: url.toString(),
    stop: async () => {
      const client = new pg.Client({ connectionString: serverUrl })
      await client.connect()
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await client.end()
    }
  }
}

const fromTestcontainers = async (): Promise<TestDatabase | undefined> => {
  try {
    const { PostgreSqlContainer } = await import("@testcontainers/postgresql")
    const container = await new PostgreSqlContainer("postgres:16-alpine").start()
    return {
      kind: `testcontainers (${container.getHost()}:${container.getPort()})`,
      url: container.getConnectionUri(),
      stop: async () => {
        await container.stop()
      }
    }
  } catch (error) {
    console.log(
      `[tests] no Docker engine for testcontainers: ${error instanceof Error ? error.message : String(error)}`
    )
    return undefined
  }
}

const fromPglite = async (): Promise<TestDatabase> => {
  const { PGlite } = await import("@electric-sql/pglite")
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket")
  const dir = mkdtempSync(join(tmpdir(), "ns-pglite-"))
  const db = await PGlite.create(join(dir, "data"))
  // Every test worker opens its own pool; PGlite queues their queries on its one session.
  const server = new PGLiteSocketServer({ db, path: join(dir, ".s.PGSQL.5432"), maxConnections: 100 })
  await server.start()
  return {
    kind: `PGlite (embedded, ${dir})`,
    url: `postgres://postgres@localhost/postgres?host=${encodeURIComponent(dir)}`,
    stop: async () => {
      await server.stop()
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export const startDatabase = async (): Promise<TestDatabase> => {
  const fromEnv = process.env.DATABASE_URL
  if (fromEnv !== undefined && fromEnv !== "") return freshDatabase(fromEnv)
  return (await fromTestcontainers()) ?? (await fromPglite())
}

/**
 * A database of the caller's own on the run's PostgreSQL server, migrated, for tests whose
 * subject takes every row it finds (dispatchers, consumers). Undefined on PGlite, which has one
 * database only.
 */
export const privateDatabase = async (
  sharedUrl: string,
  migrate: (url: string) => Promise<unknown>
): Promise<TestDatabase | undefined> => {
  if (!sharedUrl.startsWith("postgres://") || sharedUrl.includes("?host=")) {
    // CI runs on PostgreSQL: there, a test that needs a database of its own must not skip.
    if (process.env.CI_REQUIRE_POSTGRES === "1")
      throw new Error(`CI_REQUIRE_POSTGRES=1 but the test database is ${sharedUrl}`)
    return undefined
  }
  const database = await freshDatabase(sharedUrl)
  await migrate(database.url)
  return database
}

/** One connection to `url` for the length of `f`. */
export const withClient = async <A>(url: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** The rows of one statement on `url`. */
export const queryUrl = <Row>(url: string, text: string, values: ReadonlyArray<unknown> = []) =>
  withClient(url, (client) => client.query(text, [...values]).then((result) => result.rows as Array<Row>))

/** The monolith's DDL files (`packages/migrations/legacy/*.sql`), applied in order to `url`. */
export const applyLegacySql = (url: string, files: ReadonlyArray<"schema.sql" | "outbox.sql">) =>
  withClient(url, async (client) => {
    for (const file of files) {
      await client.query(readFileSync(new URL(`../../packages/migrations/legacy/${file}`, import.meta.url), "utf8"))
    }
  })
