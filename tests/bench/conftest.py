"""Puts the repository on sys.path: bench/ is a folder of scripts, not an
installed package (pyproject.toml installs users, stack, analysis, locustfiles)."""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
