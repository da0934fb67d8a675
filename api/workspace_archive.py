"""An uploaded workspace archive (.zip, .tar.gz), unpacked safely into a folder of ours.

An archive comes from a person's computer, so nothing in it is trusted: a member is
written only when its name is a plain relative path (no absolute path, drive letter,
backslash or ``..``) and it is a regular file or a folder (links, hard links, devices
and pipes are refused, so nothing written can point outside the folder). Sizes are
checked as bytes are written, never from what the archive declares: the archive at most
``archive_bytes``, everything unpacked at most ``extracted_bytes``, at most ``members``
entries, so a small archive that inflates to gigabytes stops at the limit.

A refusal is an :class:`ArchiveRefused` with a reason code (the console words it) and
the member it concerns. The workspace is the folder itself or, as archives made by
"compress this folder" have it, the one folder at its top.
"""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Literal

from engine.errors import CarepathError

__all__ = [
    "ArchiveLimits",
    "ArchiveRefused",
    "RefusedReason",
    "archive_kind",
    "extract_workspace",
    "safe_member",
]

RefusedReason = Literal[
    "not_an_archive",
    "unreadable",
    "archive_too_large",
    "extracted_too_large",
    "too_many_members",
    "unsafe_path",
    "link_or_device",
]

#: Folders archivers add beside the content (macOS Finder's resource forks).
_NOISE = frozenset({"__MACOSX"})
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ArchiveLimits:
    """How large an upload and what it unpacks to may be."""

    archive_bytes: int = 5 * 1024 * 1024
    extracted_bytes: int = 20 * 1024 * 1024
    members: int = 2000


class ArchiveRefused(CarepathError):
    """Raised when an uploaded archive is not unpacked: not a .zip or .tar.gz, too large,
    or a member with an unsafe name or of a kind other than file or folder."""

    def __init__(self, reason: RefusedReason, member: str | None = None) -> None:
        self.reason: RefusedReason = reason
        self.member = member
        super().__init__(f"{reason}: {member}" if member else reason)


def archive_kind(filename: str) -> Literal["zip", "tar.gz"] | None:
    """The archive's format from its file name; None when it is neither."""
    name = filename.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    return None


def safe_member(name: str) -> PurePosixPath | None:
    """The member's relative path, or None for the archive's own top (``./``);
    ``ArchiveRefused("unsafe_path")`` for anything that could land outside."""
    if not name or "\\" in name or "\x00" in name:
        raise ArchiveRefused("unsafe_path", name)
    path = PurePosixPath(name)
    first = path.parts[0] if path.parts else ""
    if path.is_absolute() or (len(first) >= 2 and first[1] == ":"):
        raise ArchiveRefused("unsafe_path", name)
    parts = [p for p in path.parts if p != "."]
    if ".." in parts:
        raise ArchiveRefused("unsafe_path", name)
    return PurePosixPath(*parts) if parts else None


class _Budget:
    """Bytes and members left to unpack."""

    def __init__(self, limits: ArchiveLimits) -> None:
        self.bytes_left = limits.extracted_bytes
        self.members_left = limits.members

    def member(self) -> None:
        self.members_left -= 1
        if self.members_left < 0:
            raise ArchiveRefused("too_many_members")

    def take(self, size: int, member: str) -> None:
        self.bytes_left -= size
        if self.bytes_left < 0:
            raise ArchiveRefused("extracted_too_large", member)


def _write(into: Path, relative: PurePosixPath, source: IO[bytes], budget: _Budget) -> None:
    target = into.joinpath(*relative.parts)
    # No link is ever written, so a resolved path outside means a bug: refuse all the same.
    if not target.resolve().is_relative_to(into.resolve()):
        raise ArchiveRefused("unsafe_path", str(relative))
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        while chunk := source.read(_CHUNK):
            budget.take(len(chunk), str(relative))
            out.write(chunk)


def _folder(into: Path, relative: PurePosixPath) -> None:
    into.joinpath(*relative.parts).mkdir(parents=True, exist_ok=True)


def _zip(data: bytes, into: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            budget.member()
            relative = safe_member(info.filename)
            kind = stat.S_IFMT(info.external_attr >> 16)
            # Unix archivers record the file type in the high bits; 0 is "not said".
            if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                raise ArchiveRefused("link_or_device", info.filename)
            if relative is None:
                continue
            if info.is_dir():
                _folder(into, relative)
                continue
            with archive.open(info) as source:
                _write(into, relative, source, budget)


def _tar(data: bytes, into: Path, budget: _Budget) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for member in _members(archive):
            budget.member()
            relative = safe_member(member.name)
            if not (member.isfile() or member.isdir()):
                raise ArchiveRefused("link_or_device", member.name)
            if relative is None:
                continue
            if member.isdir():
                _folder(into, relative)
                continue
            # Refused before reading when it says it is too large; counted as read anyway.
            if member.size > budget.bytes_left:
                raise ArchiveRefused("extracted_too_large", member.name)
            source = archive.extractfile(member)
            if source is None:
                raise ArchiveRefused("link_or_device", member.name)
            with source:
                _write(into, relative, source, budget)


def _members(archive: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The members one by one, as read (``getmembers`` would read the whole index first)."""
    while (member := archive.next()) is not None:
        yield member


def _root(into: Path) -> Path:
    """The workspace in the unpacked folder: itself, or its one folder at the top."""
    if any((into / name).is_dir() for name in ("journeys", "messages", "segments")):
        return into
    top = [p for p in into.iterdir() if p.name not in _NOISE and not p.name.startswith(".")]
    if len(top) == 1 and top[0].is_dir():
        return top[0]
    return into


def extract_workspace(
    data: bytes, filename: str, into: Path, limits: ArchiveLimits | None = None
) -> Path:
    """Unpack the uploaded archive ``data`` (named ``filename``) into the empty folder
    ``into``; the workspace folder inside it. ``ArchiveRefused`` when it cannot be done
    safely (``into`` may then hold part of the archive: throw it away)."""
    limits = limits or ArchiveLimits()
    kind = archive_kind(filename)
    if kind is None:
        raise ArchiveRefused("not_an_archive", filename)
    if len(data) > limits.archive_bytes:
        raise ArchiveRefused("archive_too_large", filename)
    budget = _Budget(limits)
    try:
        if kind == "zip":
            _zip(data, into, budget)
        else:
            _tar(data, into, budget)
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        # corrupt or truncated streams, names the file system refuses (too long...)
        raise ArchiveRefused("unreadable", filename) from exc
    except (ValueError, NotImplementedError, RuntimeError) as exc:
        # zip members compressed with a method we lack, or encrypted
        raise ArchiveRefused("unreadable", filename) from exc
    return _root(into)
