"""Storage: SQLModel tables, Alembic migrations and the repository that speaks domain objects."""
