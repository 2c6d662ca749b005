"""Alembic migrations of the draw service's tables (version table ``draw_alembic_version``)."""
