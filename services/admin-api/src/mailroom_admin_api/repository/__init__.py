"""Database access: queries over the tables the projector writes (one module per table)."""
