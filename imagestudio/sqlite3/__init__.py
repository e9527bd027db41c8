"""The embedded profile's database: Django's SQLite backend, its writers queued in the
process (see base)."""
