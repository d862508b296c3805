import { randomBytes } from "node:crypto"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"

/**
 * RFC 9562 UUIDv7: 48 bits of Unix milliseconds, then random bits. Ids of rows created close
 * together sit close together in the primary-key index, unlike v4.
 */
export const uuidv7 = (unixMillis: number, random: Uint8Array): string => {
  if (random.length < 10) throw new RangeError("uuidv7 needs 10 random bytes")
  const bytes = new Uint8Array(16)
  let millis = BigInt(Math.max(0, Math.floor(unixMillis)))
  for (let i = 5; i >= 0; i--) {
    bytes[i] = Number(millis & 0xffn)
    millis >>= 8n
  }
  bytes.set(random.subarray(0, 10), 6)
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f)
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f)
  const hex = Buffer.from(bytes).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** The time encoded in a UUIDv7. */
export const uuidv7Millis = (uuid: string): number => Number.parseInt(uuid.replace(/-/g, "").slice(0, 12), 16)

export const makeUuidv7: Effect.Effect<string> = Effect.map(Clock.currentTimeMillis, (now) =>
  uuidv7(now, randomBytes(10))
)
