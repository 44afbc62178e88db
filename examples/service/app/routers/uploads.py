"""Avatar thumbnails (Pillow in the process pool) and documents stored with anyio.Path."""

import asyncio
import hashlib
import uuid

import anyio
from fastapi import APIRouter, HTTPException, Request, UploadFile, status
from fastapi.responses import Response

from app.deps import CurrentUser
from app.services.images import BadImage, make_thumbnail
from app.settings import settings

router = APIRouter()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@router.post("/avatar", status_code=status.HTTP_201_CREATED)
async def upload_avatar(file: UploadFile, user: CurrentUser, request: Request) -> dict:
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, "file too large")
    loop = asyncio.get_running_loop()
    try:
        # Decoding, resizing and encoding are CPU work: a separate process, not the loop.
        png, width, height = await loop.run_in_executor(
            request.app.state.process_pool, make_thumbnail, data, 256
        )
    except BadImage as exc:
        raise HTTPException(422, f"not an image: {exc}") from None
    path = anyio.Path(settings.upload_dir) / "avatars" / f"{user.id}.png"
    await path.parent.mkdir(parents=True, exist_ok=True)
    await path.write_bytes(png)
    return {"width": width, "height": height, "bytes": len(png)}


@router.get("/avatar")
async def download_avatar(user: CurrentUser) -> Response:
    path = anyio.Path(settings.upload_dir) / "avatars" / f"{user.id}.png"
    try:
        data = await path.read_bytes()
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no avatar yet") from None
    return Response(data, media_type="image/png")


@router.post("/documents", status_code=status.HTTP_201_CREATED)
async def upload_document(file: UploadFile, user: CurrentUser) -> dict:
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, "file too large")
    digest = await asyncio.to_thread(_sha256, data)
    folder = anyio.Path(settings.upload_dir) / str(user.id)
    await folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.bin"
    await (folder / name).write_bytes(data)
    return {"name": name, "size": len(data), "sha256": digest, "filename": file.filename}


@router.get("/documents/{name}")
async def download_document(name: str, user: CurrentUser) -> Response:
    if anyio.Path(name).name != name or not name.endswith(".bin"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "bad name")
    path = anyio.Path(settings.upload_dir) / str(user.id) / name
    try:
        data = await path.read_bytes()
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such document") from None
    return Response(data, media_type="application/octet-stream")
