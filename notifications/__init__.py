"""Notifications: webhook endpoints and signed deliveries with retries and dead letters."""
