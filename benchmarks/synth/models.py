"""Per-domain ``models/`` (SQLAlchemy ORM) and ``schemas/`` (pydantic) modules."""

from __future__ import annotations

from .emit import Module
from .plan import Generator
from .spec import PACKAGE, Domain


def model_module(gen: Generator, d: Domain) -> Module:
    mod = Module(f"{PACKAGE}.models.{d.name}", f"ORM model for {d.plural.replace('_', ' ')}.")
    mod.imports.from_("sqlalchemy.orm", "Mapped")
    mod.imports.from_("sqlalchemy.orm", "mapped_column")
    mod.imports.from_(f"{PACKAGE}.core.db", "Base")
    mod.imports.from_("sqlalchemy", "func")
    mod.imports.from_("sqlalchemy", "DateTime")
    mod.imports.from_("sqlalchemy", "Integer")
    mod.imports.from_("datetime", "datetime")
    mod.gap()
    mod.emit(f"class {d.cls}(Base):")
    mod.emit(f'__tablename__ = "{d.plural}"', 1)
    mod.emit()
    mod.emit("id: Mapped[int] = mapped_column(Integer, primary_key=True)", 1)
    for name, typ, col, sa_names in d.fields:
        for n in sa_names:
            mod.imports.from_("sqlalchemy", n)
        if "Decimal" in typ:
            mod.imports.from_("decimal", "Decimal")
        mod.emit(f"{name}: Mapped[{typ}] = mapped_column({col})", 1)
    mod.emit(
        "created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())",
        1,
    )
    mod.emit(
        "updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), onupdate=func.now())",
        1,
    )
    mod.emit()
    mod.emit("def __repr__(self) -> str:", 1)
    mod.emit(f'return f"<{d.cls} id={{self.id}} name={{self.name!r}}>"', 2)
    return mod


def schema_module(gen: Generator, d: Domain) -> Module:
    mod = Module(
        f"{PACKAGE}.schemas.{d.name}",
        f"Request and response bodies for {d.plural.replace('_', ' ')}.",
    )
    mod.imports.from_("pydantic", "BaseModel")
    mod.imports.from_("pydantic", "ConfigDict")
    mod.imports.from_("pydantic", "Field")
    mod.imports.from_("pydantic", "field_validator")
    mod.imports.from_("datetime", "datetime")
    for _, typ, _, _ in d.fields:
        if "Decimal" in typ:
            mod.imports.from_("decimal", "Decimal")
    mod.gap()
    mod.emit(f"class {d.cls}Base(BaseModel):")
    for name, typ, _, _ in d.fields:
        if typ == "str":
            mod.emit(
                f"{name}: str = Field(..., min_length=1, max_length={gen.rng.choice([40, 120, 200])})",
                1,
            )
        elif typ.endswith("| None"):
            mod.emit(f"{name}: {typ} = None", 1)
        elif typ == "int":
            mod.emit(f"{name}: int = Field(default=0, ge=0)", 1)
        elif typ == "bool":
            mod.emit(f"{name}: bool = True", 1)
        elif typ == "float":
            mod.emit(f"{name}: float = 0.0", 1)
        else:
            mod.emit(f"{name}: {typ}", 1)
    mod.emit()
    mod.emit('@field_validator("name")', 1)
    mod.emit("@classmethod", 1)
    mod.emit("def _strip_name(cls, value: str) -> str:", 1)
    mod.emit("value = value.strip()", 2)
    mod.emit("if not value:", 2)
    mod.emit('raise ValueError("name must not be blank")', 3)
    mod.emit("return value", 2)
    mod.gap()
    mod.emit(f"class {d.cls}Create({d.cls}Base):")
    mod.emit(f'"""Body of ``POST /{d.plural}``."""', 1)
    mod.gap()
    mod.emit(f"class {d.cls}Update(BaseModel):")
    for name, typ, _, _ in d.fields:
        base = typ.replace(" | None", "")
        mod.emit(f"{name}: {base} | None = None", 1)
    mod.gap()
    mod.emit(f"class {d.cls}Read({d.cls}Base):")
    mod.emit("model_config = ConfigDict(from_attributes=True)", 1)
    mod.emit()
    mod.emit("id: int", 1)
    mod.emit("created_at: datetime", 1)
    mod.emit("updated_at: datetime | None = None", 1)
    mod.gap()
    mod.emit(f"class {d.cls}Page(BaseModel):")
    mod.emit(f"items: list[{d.cls}Read]", 1)
    mod.emit("total: int", 1)
    mod.emit("page: int = 1", 1)
    mod.emit("size: int = 20", 1)
    mod.gap()
    mod.emit(f"class {d.cls}Stats(BaseModel):")
    mod.emit("total: int = 0", 1)
    mod.emit("active: int = 0", 1)
    mod.emit("ratio: float = 0.0", 1)
    mod.emit("breakdown: dict[str, int] = Field(default_factory=dict)", 1)
    mod.gap()
    mod.imports.from_("typing", "Literal")
    mod.emit(f"class {d.cls}ExportRequest(BaseModel):")
    mod.emit('format: Literal["csv", "json", "xlsx"] = "csv"', 1)
    mod.emit("include_archived: bool = False", 1)
    mod.emit("since: datetime | None = None", 1)
    return mod
