// Registry mirrors without other platforms' optional binaries (e.g. @rollup/rollup-darwin-arm64)
// make `npm install` leave them out of package-lock.json, and `npm ci` then refuses the lock as out
// of sync. This restores an entry (version, os, cpu, optional) for every missing optional
// dependency; npm skips them on other platforms and fetches them on theirs.
// Usage: node scripts/complete-lockfile.mjs   (run after every `npm install`)
import { readFileSync, writeFileSync } from "node:fs"

const file = process.argv[2] ?? "package-lock.json"
const lock = JSON.parse(readFileSync(file, "utf8"))
const packages = lock.packages
let added = 0
const platform = (name) => {
  const os = [
    "android",
    "darwin",
    "freebsd",
    "linux",
    "win32",
    "openbsd",
    "sunos",
    "aix",
    "netbsd",
    "openharmony"
  ].find((o) => name.includes(o))
  const cpu = ["arm64", "x64", "ia32", "arm", "riscv64", "ppc64", "s390x", "loong64", "mips64el", "wasm32"].find((c) =>
    new RegExp(`(^|[-_])${c}($|[-_])`).test(name.split("/").pop())
  )
  return { os, cpu }
}
for (const [path, entry] of Object.entries(packages)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path === "" ? "" : `${path}/`
    const candidates = [`${base}node_modules/${dep}`, `node_modules/${dep}`]
    if (candidates.some((c) => packages[c])) continue
    const { os, cpu } = platform(dep)
    packages[`node_modules/${dep}`] = {
      version: range.replace(/^[\^~=]/, ""),
      ...(cpu ? { cpu: [cpu] } : {}),
      ...(os ? { os: [os] } : {}),
      dev: entry.dev,
      optional: true
    }
    if (packages[`node_modules/${dep}`].dev === undefined) delete packages[`node_modules/${dep}`].dev
    added++
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`)
console.log(`added ${added} entries`)
