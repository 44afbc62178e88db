"""Pydantic models for requests and responses."""

from pydantic import BaseModel, ConfigDict


class HeroBase(BaseModel):
    name: str
    secret_name: str
    age: int | None = None
    team_id: int | None = None


class HeroCreate(HeroBase):
    pass


class HeroUpdate(BaseModel):
    name: str | None = None
    secret_name: str | None = None
    age: int | None = None
    team_id: int | None = None


class HeroPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    age: int | None
    team_id: int | None


class TeamCreate(BaseModel):
    name: str
    headquarters: str


class TeamPublic(TeamCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int


class TeamPublicWithHeroes(TeamPublic):
    heroes: list[HeroPublic] = []
