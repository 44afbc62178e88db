"""Local file storage for uploaded documents."""
import csv
import io
from pathlib import Path


def save_document(dest: Path, contents: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(contents)


def parse_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
