"""Document uploads stored on local disk with anyio.Path."""

import asyncio
import hashlib
import uuid

import anyio
from fastapi import APIRouter, HTTPException, UploadFile, status
from fastapi.responses import Response

from app.deps import CurrentUser
from app.settings import settings

router = APIRouter()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
