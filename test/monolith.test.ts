import { execFile, execFileSync } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"

/** The legacy Django monolith's own test suite (legacy/monolith), on Debian's Django. */
const django = (() => {
  try {
    return execFileSync("/usr/bin/python3", ["-c", "import django, psycopg2, requests; print(django.get_version())"], {
      encoding: "utf8"
    }).trim()
  } catch (error) {
    return { skip: error instanceof Error ? error.message.split("\n")[0] : String(error) }
  }
})()
const onPostgres = (process.env.DATABASE_URL ?? "").startsWith("postgres://")

if (typeof django !== "string" || !onPostgres) {
  const reason =
    typeof django !== "string"
      ? `no Django on /usr/bin/python3 (apt-get install python3-django python3-psycopg2 python3-requests): ${django.skip}`
      : "DATABASE_URL names no PostgreSQL server for the monolith's test database"
  if (process.env.CI_REQUIRE_DJANGO === "1") throw new Error(`the monolith's tests cannot run: ${reason}`)
  console.log(`[tests] monolith tests skipped: ${reason}`)
  describe.skip(`legacy monolith (${reason})`, () => {})
} else {
  describe(`legacy monolith (Django ${django})`, () => {
    it("its test suite passes", async () => {
      const server = new URL(process.env.DATABASE_URL ?? "")
      server.pathname = "/bambu_monolith"
      const result = await new Promise<{ code: number; output: string }>((resolve) =>
        execFile(
          "bash",
          ["legacy/monolith/run-tests.sh"],
          { env: { ...process.env, LEGACY_DATABASE_URL: server.toString() }, timeout: 240_000 },
          (error, stdout, stderr) =>
            resolve({ code: error === null ? 0 : Number(error.code ?? 1), output: `${stdout}${stderr}` })
        )
      )
      expect(result.output).toMatch(/Ran \d+ tests/)
      expect(result.code, result.output).toBe(0)
    }, 300_000)
  })
}
