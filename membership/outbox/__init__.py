"""Events leave through an outbox: written in the use case's transaction, delivered after commit."""
