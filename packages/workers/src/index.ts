/**
 * The Kafka entry point: outbox relay, consumers, DLQ handling and the monolith bridge. It runs the
 * same core services as the HTTP server, as a separately scaled process.
 */
export {}
