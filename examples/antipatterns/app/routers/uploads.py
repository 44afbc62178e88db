"""Avatar and document uploads."""
import asyncio
import io
import os
import shlex
import shutil
import uuid

from fastapi import APIRouter, Depends, UploadFile
from PIL import Image

from app.clients import s3
from app.concurrency import run_blocking
from app.db import User
from app.deps import get_current_user
from app.services import storage
from app.settings import settings

router = APIRouter()


@router.post("/avatar")
async def upload_avatar(file: UploadFile, user: User = Depends(get_current_user)) -> dict:
    # Fine: UploadFile.read() is a coroutine that reads in a worker thread.
    data = await file.read()
    # Not flagged on its own: on in-memory bytes Image.open only parses the header.
    img = Image.open(io.BytesIO(data))
    # DON'T: thumbnail() decodes and resizes the full image: CPU work on the loop
    img.thumbnail((256, 256))
    out = io.BytesIO()
    # DON'T: encoding the PNG is CPU work on the loop too
    img.save(out, format="PNG")
    key = f"avatars/{user.id}.png"
    # DON'T: boto3 is synchronous; the S3 upload holds the loop for the whole round-trip
    s3.put_object(
        Bucket=settings.s3_bucket, Key=key, Body=out.getvalue(), ContentType="image/png"
    )
    return {"key": key}


@router.post("/documents", status_code=201)
async def upload_document(file: UploadFile, user: User = Depends(get_current_user)) -> dict:
    # DON'T: file.file is the underlying SpooledTemporaryFile; its read() is synchronous
    contents = file.file.read()
    dest = settings.upload_dir / str(user.id) / f"{uuid.uuid4().hex}-{file.filename}"
    # Fine: the disk write goes through the project's offload helper.
    await run_blocking(storage.save_document, dest, contents)
    return {"name": dest.name, "size": len(contents)}


@router.post("/documents/{name}/scan")
async def scan_document(name: str, user: User = Depends(get_current_user)) -> dict:
    path = settings.upload_dir / str(user.id) / name
    # DON'T: os.system forks a shell and waits for the virus scanner to finish
    exit_code = os.system(f"clamscan --no-summary {shlex.quote(str(path))}")
    return {"name": name, "clean": exit_code == 0}


@router.post("/documents/{name}/archive")
async def archive_document(name: str, user: User = Depends(get_current_user)) -> dict:
    src = settings.upload_dir / str(user.id) / name
    # DON'T: shutil.copy reads and writes the whole file synchronously
    shutil.copy(src, settings.archive_dir / f"{user.id}-{name}")
    return {"archived": name}


@router.post("/bulk")
def upload_bulk(files: list[UploadFile], user: User = Depends(get_current_user)) -> dict:
    # Fine: a sync route runs in the thread pool, so plain file I/O is acceptable here.
    saved = []
    for f in files:
        dest = settings.upload_dir / str(user.id) / f"{uuid.uuid4().hex}-{f.filename}"
        with open(dest, "wb") as out:
            shutil.copyfileobj(f.file, out)
        saved.append(dest.name)
    return {"saved": saved}


@router.post("/import-csv")
async def import_csv(file: UploadFile) -> dict:
    data = await file.read()
    # Fine: parsing runs in a worker thread.
    rows = await asyncio.to_thread(storage.parse_csv, data)
    return {"rows": len(rows), "columns": list(rows[0]) if rows else []}
