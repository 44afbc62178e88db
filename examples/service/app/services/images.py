"""Thumbnails with Pillow: CPU work, run in the process pool (so top-level and picklable)."""

import io

from PIL import Image, UnidentifiedImageError


class BadImage(ValueError):
    pass


def make_thumbnail(data: bytes, size: int) -> tuple[bytes, int, int]:
    """Decode, shrink to fit `size` x `size`, encode as PNG; returns (png, width, height)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.thumbnail((size, size))
            out = io.BytesIO()
            img.save(out, format="PNG")
            return out.getvalue(), img.width, img.height
    except (UnidentifiedImageError, OSError) as exc:
        raise BadImage(str(exc)) from exc
