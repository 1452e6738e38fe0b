"""The package `pyproject.toml` builds holds every module of the shared layer and the tools: an
editable install finds modules by folder and so hides one left out of `packages`."""

from __future__ import annotations

import ast
import shutil
import subprocess
import zipfile
from pathlib import Path

from local_api.template import ROOT
from tests.local_server import BIN

# The packages and where their sources are (tools/ also holds scripts the Makefile runs, no module).
SOURCES = {"crm": ROOT / "layers" / "shared" / "crm", "local_api": ROOT / "tools" / "local_api"}


def test_the_wheel_holds_every_module(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ beside the sources, which tests running alongside share.
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(ROOT / "tools", tmp_path / "tools", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        SOURCES["crm"], tmp_path / "layers" / "shared" / "crm", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [
            *(str(BIN / "uv"), "build", "--wheel", "--no-build-isolation", "--python", str(BIN / "python")),
            *("--out-dir", str(tmp_path / "dist"), "--quiet"),
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = {name for name in archive.namelist() if name.endswith(".py")}
    wanted = {
        str(Path(prefix, path.relative_to(folder)))
        for prefix, folder in SOURCES.items()
        for path in folder.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert sorted(wanted - packed) == []
    assert "contacts_admin.py" in packed


def test_no_test_module_imports_another() -> None:
    """What several test modules share is in tests/helpers.py (helpers) or tests/conftest.py (fixtures)."""
    found: list[str] = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):  # `from tests.test_x import y` or `from tests import test_x`
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):  # `import tests.test_x`
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [f"{path.name}: {name}" for name in names if name.startswith("tests.test_")]
    assert found == []
