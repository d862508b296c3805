import { mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import { renderOpenApi } from "@notification-service/domain"

/** `npm run openapi`: regenerates the committed document that the drift test compares against. */
const target = fileURLToPath(new URL("../../../../docs/api/openapi.json", import.meta.url))
mkdirSync(dirname(target), { recursive: true })
writeFileSync(target, renderOpenApi())
process.stdout.write(`wrote ${target}\n`)
