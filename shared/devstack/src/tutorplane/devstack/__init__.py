"""The embedded default: embedded PostgreSQL, Redis, model-API emulators and the services as local processes."""
