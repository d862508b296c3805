import { mkdirSync, rmSync } from "node:fs"
import { resolve } from "node:path"
import { PgClient } from "@effect/sql-pg"
import { PGlite } from "@electric-sql/pglite"
import { PGLiteSocketServer } from "@electric-sql/pglite-socket"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { DatabaseConfig } from "./AppConfig.js"

/**
 * PGlite is one Postgres session, so the embedded default gets a pool of one connection.
 * It listens on a Unix socket inside the data directory: no port to collide with.
 */
const embeddedPort = 5432

export const startEmbeddedPostgres = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const dir = resolve(dataDir)
      mkdirSync(dir, { recursive: true })
      const socket = `${dir}/.s.PGSQL.${embeddedPort}`
      rmSync(socket, { force: true })
      const db = await PGlite.create(`${dir}/pglite`)
      // The pool uses one connection; a few spare slots let it reconnect while an old one closes.
      const server = new PGLiteSocketServer({ db, path: socket, maxConnections: 4 })
      await server.start()
      return { db, server, dir }
    }),
    ({ db, server }) =>
      Effect.promise(async () => {
        await server.stop()
        await db.close()
      })
  ).pipe(
    Effect.tap(({ dir }) => Effect.logInfo("embedded PostgreSQL (PGlite) started").pipe(Effect.annotateLogs({ dir }))),
    Effect.orDie
  )

/**
 * `DATABASE_URL` when set, else the embedded PGlite under `DATA_DIR`. The pool is built on top of
 * the embedded server so that it closes first: PGlite stopping under a live pool spins the CPU.
 */
export const DatabaseLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const config = yield* DatabaseConfig
    if (Option.isSome(config.url)) {
      return PgClient.layer({
        url: config.url.value,
        maxConnections: config.poolSize,
        applicationName: "notification-service"
      })
    }
    return PgClient.layer({
      host: resolve(config.dataDir),
      port: embeddedPort,
      database: "postgres",
      username: "postgres",
      maxConnections: 1,
      applicationName: "notification-service"
    }).pipe(Layer.provide(Layer.scopedDiscard(startEmbeddedPostgres(config.dataDir))))
  })
)
