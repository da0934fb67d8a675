"""The request limit of the console's workspace upload: the archive's own (5 MB plus
the form) on that one path, the API's everywhere else."""

from __future__ import annotations

from api.limits import FORM_OVERHEAD, UPLOAD_PATH, BodyLimit
from api.workspace_archive import ArchiveLimits
from engine.settings import ApiSettings


async def _app(scope: object, receive: object, send: object) -> None:  # never reached
    raise AssertionError


def test_the_upload_path_takes_an_archive_and_other_paths_keep_their_limit() -> None:
    limits = BodyLimit(_app, ApiSettings())
    archive = ArchiveLimits().archive_bytes
    assert limits.limit_of(UPLOAD_PATH) == archive + FORM_OVERHEAD
    assert limits.limit_of("/workspace/deploy") == ApiSettings().max_body_bytes
    assert limits.limit_of("/v1/track") == ApiSettings().max_body_bytes < archive
    bigger = BodyLimit(_app, ApiSettings(max_body_bytes=50 * 1024 * 1024))
    assert bigger.limit_of(UPLOAD_PATH) == 50 * 1024 * 1024
