#!/usr/bin/env python3
"""Set up on first use, then run: `python3 dev.py demo` or `python3 dev.py test`.

Needs only Python >= 3.11 and git. Creates `.venv/` beside this file and
installs the project into it (again whenever pyproject.toml changes).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def ensure_venv() -> None:
    """Create the virtual environment and install the project when needed."""
    if sys.version_info < (3, 11):
        sys.exit("telecare needs Python 3.11 or newer")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    print("installing telecare and its dependencies into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    """Dispatch `demo`, `test` or `lint`."""
    if not argv or argv[0] not in ("demo", "test", "lint"):
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    python = str(BIN / "python")
    if command == "demo":
        return subprocess.call([python, "-m", "telecare", "demo", *rest])
    if command == "lint":
        code = subprocess.call([python, "-m", "ruff", "check", "telecare", "firmware_sim",
                                "tests", "benchmarks"], cwd=ROOT)
        return code or subprocess.call([python, "-m", "mypy"], cwd=ROOT)
    return subprocess.call([python, "-m", "pytest", *rest], cwd=ROOT)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
