export * from "./Lifecycle.js"
export * from "./Server.js"
