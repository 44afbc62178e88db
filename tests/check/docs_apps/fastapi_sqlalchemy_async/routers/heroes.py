"""CRUD for heroes with an AsyncSession."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query
from sqlalchemy import select

from ..database import SessionDep
from ..models import Hero
from ..schemas import HeroCreate, HeroPublic, HeroUpdate

router = APIRouter(prefix="/heroes", tags=["heroes"])


def write_audit_log(message: str) -> None:
    with open("audit.log", mode="a") as log_file:
        log_file.write(f"{message}\n")


@router.post("/", response_model=HeroPublic, status_code=201)
async def create_hero(hero: HeroCreate, session: SessionDep, background_tasks: BackgroundTasks):
    db_hero = Hero(**hero.model_dump())
    session.add(db_hero)
    await session.commit()
    await session.refresh(db_hero)
    background_tasks.add_task(write_audit_log, f"created hero {db_hero.id}")
    return db_hero


@router.get("/", response_model=list[HeroPublic])
async def read_heroes(
    session: SessionDep,
    offset: int = 0,
    limit: Annotated[int, Query(le=100)] = 100,
):
    heroes = await session.scalars(select(Hero).order_by(Hero.id).offset(offset).limit(limit))
    return heroes.all()


@router.get("/{hero_id}", response_model=HeroPublic)
async def read_hero(hero_id: int, session: SessionDep):
    hero = await session.get(Hero, hero_id)
    if hero is None:
        raise HTTPException(status_code=404, detail="Hero not found")
    return hero


@router.patch("/{hero_id}", response_model=HeroPublic)
async def update_hero(hero_id: int, hero: HeroUpdate, session: SessionDep):
    db_hero = await session.get(Hero, hero_id)
    if db_hero is None:
        raise HTTPException(status_code=404, detail="Hero not found")
    for key, value in hero.model_dump(exclude_unset=True).items():
        setattr(db_hero, key, value)
    await session.commit()
    await session.refresh(db_hero)
    return db_hero


@router.delete("/{hero_id}")
async def delete_hero(hero_id: int, session: SessionDep, background_tasks: BackgroundTasks):
    hero = await session.get(Hero, hero_id)
    if hero is None:
        raise HTTPException(status_code=404, detail="Hero not found")
    await session.delete(hero)
    await session.commit()
    background_tasks.add_task(write_audit_log, f"deleted hero {hero_id}")
    return {"ok": True}
