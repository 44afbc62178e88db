"""FastAPI with SQLAlchemy 2.0 asyncio, built from the FastAPI and SQLAlchemy docs."""
