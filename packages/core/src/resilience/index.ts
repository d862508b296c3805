/**
 * Generic resilience building blocks: retry with backoff, circuit breaker, bulkhead, failover.
 * Each module is exported as a namespace, as Effect's own modules are (`Retry.retry`,
 * `CircuitBreaker.make`, ...).
 */
export * as Bulkhead from "./Bulkhead.js"
export * as CircuitBreaker from "./CircuitBreaker.js"
export * as Failover from "./Failover.js"
export * as Retry from "./Retry.js"
