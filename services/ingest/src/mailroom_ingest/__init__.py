"""mailroom_ingest."""
