"""Teams, loading their heroes eagerly with selectinload."""

from fastapi import APIRouter, HTTPException
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..database import SessionDep
from ..models import Team
from ..schemas import HeroPublic, TeamCreate, TeamPublic, TeamPublicWithHeroes

router = APIRouter(prefix="/teams", tags=["teams"])


@router.post("/", response_model=TeamPublic, status_code=201)
async def create_team(team: TeamCreate, session: SessionDep):
    db_team = Team(name=team.name, headquarters=team.headquarters)
    session.add(db_team)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise HTTPException(status_code=409, detail="Team already exists") from None
    await session.refresh(db_team)
    return db_team


@router.get("/{team_id}", response_model=TeamPublicWithHeroes)
async def read_team(team_id: int, session: SessionDep):
    stmt = select(Team).where(Team.id == team_id).options(selectinload(Team.heroes))
    result = await session.execute(stmt)
    team = result.scalar_one_or_none()
    if team is None:
        raise HTTPException(status_code=404, detail="Team not found")
    return team


@router.get("/{team_id}/heroes", response_model=list[HeroPublic])
async def read_team_heroes(team_id: int, session: SessionDep):
    team = await session.get(Team, team_id)
    if team is None:
        raise HTTPException(status_code=404, detail="Team not found")
    return await team.awaitable_attrs.heroes
