export * from "./Health.js"
export * from "./Kafka.js"
export * from "./OutboxRelay.js"
export * from "./Worker.js"
