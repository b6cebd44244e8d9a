"""Deterministic packaging: the same source files always give the same zip bytes.

Sorted entries, fixed timestamps and modes, no directory entries, caches skipped. So the
base64 SHA-256 of our zip can be compared with Lambda's ``CodeSha256`` without uploading,
and a no-op deploy uploads nothing.
"""
from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16
SKIPPED_PARTS = {"__pycache__", ".pytest_cache", ".DS_Store"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}


def source_files(folder: Path) -> list[Path]:
    """The files a package holds: every file under ``folder`` but caches, sorted by relative path."""
    if not folder.is_dir():
        raise FileNotFoundError(f"source folder not found: {folder}")
    files = [
        p for p in folder.rglob("*")
        if p.is_file() and not SKIPPED_PARTS.intersection(p.relative_to(folder).parts) and p.suffix not in SKIPPED_SUFFIXES
    ]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def deterministic_zip(*folders: Path) -> bytes:
    """Zip the files of ``folders`` (each at the zip's root, e.g. a function and shared modules) with fixed metadata."""
    entries: dict[str, Path] = {}
    for folder in folders:
        for path in source_files(folder):
            name = path.relative_to(folder).as_posix()
            if name in entries:
                raise ValueError(f"{name} is in both {entries[name].parent} and {folder}: zip entries must be unique")
            entries[name] = path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in sorted(entries.items()):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever the build machine
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    return buffer.getvalue()


def lambda_code_sha256(data: bytes) -> str:
    """Lambda's ``CodeSha256``: base64 of the SHA-256 digest of the zip."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def content_sha256(data: bytes) -> str:
    """Hex SHA-256, used to compare S3 objects (stored as object metadata)."""
    return hashlib.sha256(data).hexdigest()
