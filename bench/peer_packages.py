"""Install the benchmark-only packages (locust-plugins and its Kafka client) apart.

They go into a folder of their own with `pip install --target`, which only the
peer's process puts on its PYTHONPATH, so msgload's environment never sees them.
"""

import logging
import subprocess
import sys
from pathlib import Path

__all__ = ["ensure_peer_packages"]

logger = logging.getLogger(__name__)

INSTALL_TIMEOUT_S = 300
MARKER = ".installed-requirements.txt"


def ensure_peer_packages(requirements: Path, target: Path) -> str | None:
    """Install requirements into target unless already there; return why not, or
    None when the packages are ready."""
    wanted = requirements.read_text()
    marker = target / MARKER
    if marker.exists() and marker.read_text() == wanted:
        return None
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
        "--upgrade", "--target", str(target), "-r", str(requirements),
    ]  # fmt: skip
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return f"pip install into {target} timed out after {INSTALL_TIMEOUT_S} s"
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        return f"pip install into {target} failed: {lines[-1] if lines else ''}"
    marker.write_text(wanted)
    logger.info("Installed %s into %s", requirements, target)
    return None
