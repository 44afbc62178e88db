"""ORM models in the SQLAlchemy 2.0 declarative style."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .database import Base


class Team(Base):
    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, index=True)
    headquarters: Mapped[str]

    heroes: Mapped[list["Hero"]] = relationship(back_populates="team")


class Hero(Base):
    __tablename__ = "hero"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    secret_name: Mapped[str]
    age: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"))

    team: Mapped[Team | None] = relationship(back_populates="heroes")
