"""mailroom_devstack."""
