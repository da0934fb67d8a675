"""Uploaded workspace archives: what is unpacked, and every way out of the folder refused."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from api.workspace_archive import (
    ArchiveLimits,
    ArchiveRefused,
    archive_kind,
    extract_workspace,
    safe_member,
)

JOURNEY = b"id: hello\ntrigger: {api: true}\nsteps:\n  - id: wait\n    wait: 1d\n"


def _zip(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def _tar(members: dict[str, bytes], special: list[tarfile.TarInfo] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        for info in special or []:
            archive.addfile(info)
    return buffer.getvalue()


def _refused(data: bytes, name: str, into: Path, limits: ArchiveLimits | None = None) -> str:
    with pytest.raises(ArchiveRefused) as refused:
        extract_workspace(data, name, into, limits)
    return refused.value.reason


def test_a_zip_of_a_folder_unpacks_to_that_folder(tmp_path: Path) -> None:
    data = _zip({"clinic/journeys/hello.yaml": JOURNEY, "clinic/segments/": b""})
    root = extract_workspace(data, "clinic.zip", tmp_path)
    assert root == tmp_path / "clinic"
    assert (root / "journeys" / "hello.yaml").read_bytes() == JOURNEY
    assert (root / "segments").is_dir()


def test_a_tar_gz_of_the_folder_contents_unpacks_in_place(tmp_path: Path) -> None:
    data = _tar({"./journeys/hello.yaml": JOURNEY, "./messages/m.yaml": b"id: m\n"})
    root = extract_workspace(data, "ws.tar.gz", tmp_path)
    assert root == tmp_path
    assert (root / "journeys" / "hello.yaml").read_bytes() == JOURNEY


@pytest.mark.parametrize(
    "name",
    ["../escape.yaml", "journeys/../../escape.yaml", "/etc/cron.d/x", "C:/x.yaml", "a\\..\\b", ""],
)
def test_names_that_could_land_outside_are_refused(name: str) -> None:
    with pytest.raises(ArchiveRefused) as refused:
        safe_member(name)
    assert refused.value.reason == "unsafe_path"


def test_plain_relative_names_are_kept() -> None:
    assert safe_member("./journeys/a.yaml") == Path("journeys/a.yaml")
    assert safe_member("./") is None


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_traversal_member_writes_nothing_outside(tmp_path: Path, kind: str) -> None:
    into = tmp_path / "into"
    into.mkdir()
    members = {"journeys/hello.yaml": JOURNEY, "../escape.yaml": b"boo"}
    data = _zip(members) if kind == "zip" else _tar(members)
    assert _refused(data, f"ws.{kind}", into) == "unsafe_path"
    assert not (tmp_path / "escape.yaml").exists()


def test_links_in_a_zip_are_refused(tmp_path: Path) -> None:
    data = _zip({"journeys/hello.yaml": JOURNEY}, links={"journeys/passwd.yaml": "/etc/passwd"})
    assert _refused(data, "ws.zip", tmp_path) == "link_or_device"
    assert not (tmp_path / "journeys" / "passwd.yaml").exists()


@pytest.mark.parametrize(
    "kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE, tarfile.FIFOTYPE]
)
def test_links_and_devices_in_a_tar_are_refused(tmp_path: Path, kind: bytes) -> None:
    info = tarfile.TarInfo("journeys/odd.yaml")
    info.type = kind
    info.linkname = "/etc/passwd"
    data = _tar({"journeys/hello.yaml": JOURNEY}, special=[info])
    assert _refused(data, "ws.tgz", tmp_path) == "link_or_device"
    assert not (tmp_path / "journeys" / "odd.yaml").exists()


def test_sizes_are_limited_as_unpacked_not_as_declared(tmp_path: Path) -> None:
    limits = ArchiveLimits(archive_bytes=10_000, extracted_bytes=50_000, members=5)
    bomb = _zip({"journeys/zeros.yaml": b"0" * 200_000})
    assert len(bomb) < limits.archive_bytes  # small to send, large once unpacked
    assert _refused(bomb, "ws.zip", tmp_path / "a", limits) == "extracted_too_large"
    big = _tar({"journeys/zeros.yaml": b"0" * 200_000})
    assert _refused(big, "ws.tar.gz", tmp_path / "b", limits) == "extracted_too_large"
    many = _zip({f"journeys/{i}.yaml": b"x" for i in range(6)})
    assert _refused(many, "ws.zip", tmp_path / "c", limits) == "too_many_members"
    assert _refused(b"x" * 10_001, "ws.zip", tmp_path / "d", limits) == "archive_too_large"


def test_other_files_and_broken_archives_are_refused(tmp_path: Path) -> None:
    assert archive_kind("WS.TGZ") == "tar.gz" and archive_kind("ws.rar") is None
    assert _refused(b"PK", "ws.rar", tmp_path) == "not_an_archive"
    assert _refused(b"not a zip at all", "ws.zip", tmp_path) == "unreadable"
    assert _refused(b"not gzip", "ws.tar.gz", tmp_path) == "unreadable"
