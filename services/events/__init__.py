"""Events: the catalogue, the envelope, recording (outbox) and publishing (fast path + relay)."""
