"""Scheduled jobs (points expiry, …): set-based, chunked, resumable and idempotent."""
