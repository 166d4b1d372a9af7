"""mailroom_responder."""
