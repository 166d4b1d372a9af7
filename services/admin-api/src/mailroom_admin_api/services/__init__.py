"""Use cases: turn requests into repository calls, events and response bodies."""
