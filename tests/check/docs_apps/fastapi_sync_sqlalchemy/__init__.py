"""FastAPI's "SQL (Relational) Databases" tutorial with a sync Session, plus OAuth2 with JWT."""
