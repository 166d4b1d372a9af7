"""mailroom_admin_api."""
