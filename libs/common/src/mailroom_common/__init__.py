"""mailroom_common."""
