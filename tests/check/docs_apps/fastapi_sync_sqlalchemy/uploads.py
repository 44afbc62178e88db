"""File uploads (FastAPI docs, "Request Files")."""

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, UploadFile

from . import schemas
from .database import SessionDep
from .security import CurrentUser

MEDIA_ROOT = Path("media")
MAX_AVATAR_BYTES = 1024 * 1024

router = APIRouter(tags=["files"])


@router.post("/files/")
async def create_file(file: Annotated[bytes, File()]) -> dict[str, int]:
    return {"file_size": len(file)}


@router.post("/uploadfile/")
async def create_upload_file(file: UploadFile) -> dict[str, str | int | None]:
    contents = await file.read()
    return {"filename": file.filename, "content_type": file.content_type, "size": len(contents)}


@router.post("/uploadfiles/")
async def create_upload_files(files: list[UploadFile]) -> dict[str, list[str | None]]:
    return {"filenames": [file.filename for file in files]}


@router.put("/users/me/avatar", response_model=schemas.UserPublic)
def upload_avatar(file: UploadFile, current_user: CurrentUser, db: SessionDep):
    contents = file.file.read()
    if len(contents) > MAX_AVATAR_BYTES:
        raise HTTPException(status_code=413, detail="Avatar too large")
    path = MEDIA_ROOT / f"avatar-{current_user.id}"
    path.write_bytes(contents)
    current_user.avatar_path = str(path)
    db.commit()
    db.refresh(current_user)
    return current_user
