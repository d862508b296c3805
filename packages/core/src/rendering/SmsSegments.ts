/**
 * How many SMS an outgoing text costs: GSM 03.38 (7-bit) when every character
 * is in the GSM alphabet, UCS-2 otherwise.
 */

export type SmsEncoding = "GSM-7" | "UCS-2"

export interface SmsSegments {
  readonly encoding: SmsEncoding
  /** Septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2. */
  readonly characters: number
  readonly segments: number
  /** The capacity of one segment: 160/70 for a single SMS, 153/67 once concatenated. */
  readonly perSegment: number
}

// GSM 03.38 default alphabet. ESC (0x1B) is left out on purpose: it only
// introduces an extension character and cannot be sent as a character itself.
const basic = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

// The extension table: each is sent as ESC + character, so it takes two septets.
const extension = new Set("\f^{}\\[~]|€")

const limits = {
  "GSM-7": { single: 160, concatenated: 153 },
  // Concatenated segments lose 6 bytes to the user data header (7 septets, 3 UCS-2 units).
  "UCS-2": { single: 70, concatenated: 67 }
} as const

const gsmCost = (char: string): number | undefined => (basic.has(char) ? 1 : extension.has(char) ? 2 : undefined)

/**
 * The cost of each unit that must stay whole inside one segment: an extension
 * character's two septets, or a surrogate pair's two code units.
 */
const units = (text: string): { readonly encoding: SmsEncoding; readonly costs: ReadonlyArray<number> } => {
  const costs: Array<number> = []
  for (const char of text) {
    const cost = gsmCost(char)
    if (cost === undefined) {
      // Iterating a string yields code points, so `char.length` is 2 for a surrogate pair.
      return { encoding: "UCS-2", costs: Array.from(text, (c) => c.length) }
    }
    costs.push(cost)
  }
  return { encoding: "GSM-7", costs }
}

/**
 * Counts the segments of `text`. An empty text is one segment: sending it
 * still takes one message, and it keeps `segments >= 1` for every text.
 */
export const segments = (text: string): SmsSegments => {
  const { costs, encoding } = units(text)
  const characters = costs.reduce((sum, cost) => sum + cost, 0)
  const limit = limits[encoding]
  if (characters <= limit.single) {
    return { encoding, characters, segments: 1, perSegment: limit.single }
  }
  // Fill segments greedily, starting a new one rather than splitting a unit:
  // that is how handsets and carriers split, so the count can exceed
  // ceil(characters / perSegment).
  let count = 1
  let used = 0
  for (const cost of costs) {
    if (used + cost > limit.concatenated) {
      count++
      used = 0
    }
    used += cost
  }
  return { encoding, characters, segments: count, perSegment: limit.concatenated }
}

/**
 * Whether `text` can be sent in the GSM 7-bit alphabet.
 */
export const isGsm7 = (text: string): boolean => {
  for (const char of text) {
    if (gsmCost(char) === undefined) return false
  }
  return true
}
