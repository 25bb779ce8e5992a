"""Notifications: webhook endpoints, and signed deliveries sent by a dispatcher in every worker
process: retries, dead letters, per-endpoint limits, circuit breakers, per-complaint order."""
