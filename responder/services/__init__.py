"""Services that orchestrate the core and storage: dispatch, inbox, outbox, timers, surveys."""
