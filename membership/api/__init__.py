"""The REST API for POS terminals and apps: security, errors, shared plumbing."""
