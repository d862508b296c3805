export * as Legacy from "./Legacy.js"
export * as Liquid from "./Liquid.js"
export * from "./Render.js"
export * from "./SmsSegments.js"
