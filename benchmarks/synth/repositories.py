"""Per-domain ``repositories/`` modules: a sync and an async repository class."""

from __future__ import annotations

from .emit import Module
from .plan import Generator
from .spec import PACKAGE, Decoy, Domain


def repo_module(gen: Generator, d: Domain) -> Module:
    mod = Module(
        f"{PACKAGE}.repositories.{d.name}", f"Data access for {d.plural.replace('_', ' ')}."
    )
    cls = d.cls
    mod.imports.from_("sqlalchemy", "func")
    mod.imports.from_("sqlalchemy", "select")
    mod.imports.from_("sqlalchemy", "delete", "sa_delete")
    mod.imports.from_("datetime", "datetime")
    mod.imports.from_("sqlalchemy.orm", "Session")
    mod.imports.from_("sqlalchemy.ext.asyncio", "AsyncSession")
    mod.imports.from_(f"{PACKAGE}.models.{d.name}", cls)
    mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Create")
    mod.imports.from_(f"{PACKAGE}.schemas.{d.name}", f"{cls}Update")
    strf = "name"
    by = {f.name: f for f in d.repo}
    for prefix, aw, sess_t in (("", "", "Session"), ("Async", "await ", "AsyncSession")):
        asy = "async " if aw else ""
        mod.gap()
        mod.emit(f"class {prefix}{cls}Repository:")
        mod.emit(f'"""{"Async" if aw else "Sync"} queries over ``{d.plural}``."""', 1)
        mod.emit()
        mod.emit(f"def __init__(self, session: {sess_t}) -> None:", 1)
        mod.emit("self.session = session", 2)

        def method(
            sig: str, lines: list[str], key: str | None, asy: str = asy, aw: str = aw
        ) -> None:
            mod.emit()
            mod.emit(f"{asy}def {sig}:", 1)
            first = None
            for text in lines:
                ln = mod.emit(text, 2)
                if first is None and "self.session." in text:
                    first = ln
            if key is not None and first is not None:
                if aw:
                    gen.decoys.append(Decoy("async_db", mod.site(first)))
                else:
                    by[key].leaf_site = mod.site(first)

        method(
            f"get(self, item_id: int) -> {cls} | None",
            [f"return {aw}self.session.get({cls}, item_id)"],
            "get",
        )
        method(
            f"get_by_{strf}(self, value: str) -> {cls} | None",
            [
                f"stmt = select({cls}).where({cls}.{strf} == value)",
                f"result = {aw}self.session.execute(stmt)",
                "return result.scalar_one_or_none()",
            ],
            None,
        )
        method(
            f"list(self, limit: int = 50, offset: int = 0) -> list[{cls}]",
            [
                f"stmt = select({cls}).order_by({cls}.id.desc()).offset(offset).limit(limit)",
                f"result = {aw}self.session.execute(stmt)",
                "return list(result.scalars().all())",
            ],
            "list",
        )
        method(
            "count(self) -> int",
            [
                f"stmt = select(func.count()).select_from({cls})",
                f"result = {aw}self.session.execute(stmt)",
                "return int(result.scalar_one())",
            ],
            "count",
        )
        method(
            f"search(self, term: str) -> list[{cls}]",
            [
                f'stmt = select({cls}).where({cls}.{strf}.ilike(f"%{{term}}%")).limit(25)',
                f"result = {aw}self.session.execute(stmt)",
                "return list(result.scalars())",
            ],
            "search",
        )
        method(
            "exists(self, item_id: int) -> bool",
            [
                f"stmt = select({cls}.id).where({cls}.id == item_id)",
                f"result = {aw}self.session.execute(stmt)",
                "return result.first() is not None",
            ],
            "exists",
        )
        method(
            f"list_since(self, since: datetime, limit: int = 100) -> list[{cls}]",
            [
                "stmt = (",
                f"    select({cls})",
                f"    .where({cls}.created_at >= since)",
                f"    .order_by({cls}.created_at)",
                "    .limit(limit)",
                ")",
                f"result = {aw}self.session.execute(stmt)",
                "return list(result.scalars())",
            ],
            None,
        )
        method(
            "delete_many(self, ids: list[int]) -> int",
            [
                "if not ids:",
                "    return 0",
                f"stmt = sa_delete({cls}).where({cls}.id.in_(ids))",
                f"result = {aw}self.session.execute(stmt)",
                f"{aw}self.session.commit()",
                "return int(result.rowcount or 0)",
            ],
            None,
        )
        method(
            f"create(self, data: {cls}Create) -> {cls}",
            [
                f"obj = {cls}(**data.model_dump())",
                "self.session.add(obj)",
                f"{aw}self.session.commit()",
                f"{aw}self.session.refresh(obj)",
                "return obj",
            ],
            None,
        )
        method(
            f"update(self, obj: {cls}, data: {cls}Update) -> {cls}",
            [
                "for key, value in data.model_dump(exclude_unset=True).items():",
                "    setattr(obj, key, value)",
                f"{aw}self.session.commit()",
                f"{aw}self.session.refresh(obj)",
                "return obj",
            ],
            None,
        )
        method(
            f"delete(self, obj: {cls}) -> None",
            [f"{aw}self.session.delete(obj)", f"{aw}self.session.commit()"],
            None,
        )
    return mod
