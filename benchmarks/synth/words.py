"""Vocabulary for the generated code: nouns, verbs, parameter shapes, model fields, literals."""

from __future__ import annotations

import random

# fmt: off
NOUNS = [
    "user", "order", "invoice", "product", "payment", "shipment", "customer", "account",
    "report", "notification", "subscription", "inventory", "warehouse", "coupon", "review",
    "ticket", "audit_log", "webhook", "export", "catalog", "tenant", "team", "project", "task",
    "comment", "attachment", "device", "location", "message", "refund", "discount", "supplier",
    "contract", "quote", "lead", "campaign", "survey", "feedback", "booking", "room", "event",
    "venue", "course", "lesson", "enrollment", "grade", "vehicle", "route", "driver", "delivery",
    "parcel", "carrier", "claim", "policy", "member", "role", "permission", "api_key",
    "integration", "schedule", "shift", "timesheet", "expense", "budget", "ledger",
    "transaction", "wallet", "transfer", "card", "merchant", "store", "cart", "wishlist", "price",
    "tax_rate", "currency", "region", "country", "language", "article", "tag", "media",
    "playlist", "album", "track", "artist", "license", "asset", "job", "batch", "pipeline",
    "dataset", "metric", "alert", "incident", "deployment", "release", "feature_flag",
    "experiment", "segment", "cohort", "profile", "preference", "consent", "document",
    "template", "signature", "folder", "share", "invite", "payout", "dispute", "promotion",
]
# fmt: on

# fmt: off
UTIL_THEMES = [
    "text", "dates", "files", "http", "retry", "pagination", "crypto", "formatting", "templates",
    "storage", "email", "csv_export", "pdf", "images", "geo", "money", "validation", "ids",
    "cache_keys", "flags", "metrics", "tracing", "rate_limit", "shell", "archive", "uploads",
    "signing", "serialization", "locale", "backup", "reports", "queues", "search", "thumbnails",
    "sitemaps", "markdown", "barcodes", "phone", "addresses", "diffing",
]
# fmt: on

# fmt: off
PURE_VERBS = [
    "normalize", "format", "compute", "build", "parse", "validate", "merge", "summarize",
    "serialize", "score", "render", "clean", "split", "group", "rank", "filter", "coerce",
    "mask", "diff", "estimate", "classify", "collapse", "dedupe", "flatten",
]
# fmt: on
# fmt: off
BLOCK_VERBS = [
    "fetch", "download", "load", "read", "sync", "export", "push", "publish", "upload",
    "archive", "poll", "import", "refresh", "reconcile", "backfill", "snapshot", "notify",
    "dispatch", "generate", "persist", "mirror", "replicate",
]
# fmt: on
# fmt: off
ASYNC_VERBS = [
    "get", "load", "fetch", "refresh", "sync", "collect", "resolve", "process", "handle",
    "enrich", "prepare", "finalize", "dispatch", "schedule", "check", "verify", "aggregate",
    "stream", "warm", "apply",
]
# fmt: on
# fmt: off
OBJS = [
    "payload", "summary", "totals", "labels", "snapshot", "report", "metadata", "history",
    "status", "preview", "digest", "manifest", "batch", "feed", "rates", "records", "details",
    "stats", "settings_view", "overview", "changes", "checksum", "quota", "usage", "timeline",
]
# fmt: on
# fmt: off
WORDS = [
    "primary", "default", "archive", "pending", "nightly", "eu-west", "internal", "partner",
    "legacy", "beta", "mobile", "web", "batch", "priority", "standard",
]
# fmt: on

PARAM_SHAPES: list[list[tuple[str, str, str | None]]] = [
    [("item_id", "int", None)],
    [("name", "str", None)],
    [("payload", "dict[str, Any]", None)],
    [("values", "list[int]", None)],
    [("item_id", "int", None), ("payload", "dict[str, Any]", None)],
    [("name", "str", None), ("limit", "int", "10")],
    [("path", "str", None)],
    [("url", "str", None), ("payload", "dict[str, Any]", None)],
    [("values", "list[int]", None), ("factor", "float", "1.0")],
    [("item_id", "int", None), ("name", "str", None)],
    [],
]
SIMPLE_TYPES = frozenset({"int", "str", "float", "bool", "dict[str, Any]", "list[int]"})
RETURN_TYPES = ["str", "int", "float", "bool", "dict[str, Any]", "list[int]", "None"]

# Field specs for ORM models and schemas: name, python type, column type, sqlalchemy names.
FIELD_POOL: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("title", "str", "String(200)", ("String",)),
    ("description", "str | None", "Text, nullable=True", ("Text",)),
    ("status", "str", 'String(32), default="active"', ("String",)),
    ("email", "str", "String(255), index=True", ("String",)),
    ("amount", "Decimal", "Numeric(12, 2)", ("Numeric",)),
    ("quantity", "int", "Integer, default=0", ("Integer",)),
    ("is_active", "bool", "Boolean, default=True", ("Boolean",)),
    ("priority", "int", "Integer, default=0", ("Integer",)),
    ("external_ref", "str | None", "String(64), nullable=True", ("String",)),
    ("notes", "str | None", "Text, nullable=True", ("Text",)),
    ("score", "float", "Float, default=0.0", ("Float",)),
    ("tenant_id", "int", "Integer, index=True", ("Integer",)),
    ("expires_at", "datetime | None", "DateTime(timezone=True), nullable=True", ("DateTime",)),
    ("code", "str", "String(40), unique=True", ("String",)),
    ("country_code", "str", "String(2)", ("String",)),
    ("currency", "str", 'String(3), default="EUR"', ("String",)),
    ("version", "int", "Integer, default=1", ("Integer",)),
]


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def singular(word: str) -> str:
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
        return word[:-1]
    return word


def plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2] not in "aeiou":
        return noun[:-1] + "ies"
    if noun == "media":
        return noun
    return noun + "s"


def literal(rng: random.Random, typ: str, hint: str = "") -> str:
    if typ == "int":
        return str(rng.randint(1, 250))
    if typ == "float":
        return rng.choice(["0.1", "0.25", "0.5", "1.5", "2.0"])
    if typ == "bool":
        return rng.choice(["True", "False"])
    if typ == "dict[str, Any]":
        return f'{{"source": "{rng.choice(WORDS)}"}}'
    if typ == "list[int]":
        return "[" + ", ".join(str(rng.randint(1, 99)) for _ in range(rng.randint(2, 4))) + "]"
    if hint == "url":
        return f'"https://api.example.com/v1/{rng.choice(WORDS)}"'
    if hint == "path":
        return f'"/var/lib/app/{rng.choice(WORDS)}.json"'
    return f'"{rng.choice(WORDS)}"'
