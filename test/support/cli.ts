import { spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"

export const repositoryRoot = fileURLToPath(new URL("../..", import.meta.url))

/**
 * One of the project's command-line scripts (`packages/<pkg>/src/bin/<name>.ts`) as a child
 * process from the sources; resolves with its exit code and output once it exits. An env value
 * of `undefined` removes the variable.
 */
export const runScript = async (
  script: string,
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined> = {}
): Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }> => {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", script, ...args], {
    cwd: repositoryRoot,
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...env }).filter((entry): entry is [string, string] => entry[1] !== undefined)
    ),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
  })
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  // "close" rather than "exit": both pipes are drained by then.
  const [code] = (await once(child, "close")) as [number | null]
  return { code, stdout, stderr }
}
