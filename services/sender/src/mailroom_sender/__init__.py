"""mailroom_sender."""
