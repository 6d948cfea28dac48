"""Versions: the ingest use case and everything it drives (claims, store, artifacts, registration,
uploads, warm-up, deliveries, dead letters, the sweep, deferred registrations)."""
