"""Import every function of a `sam build` output the way Lambda would: its code plus the layer.

Each handler is imported in a fresh interpreter that sees only the built artifacts (no .venv
site-packages), so a module missing from the layer or the function fails here, not in AWS. It
writes no bytecode there (-B): the layer must carry its own, one file per module, compiled by
its build for the interpreter that built it (layers/shared/Makefile).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from local_api.template import load

CHECK = """
import importlib, sys
sys.path[:0] = [{code!r}, {layer!r}]
module = importlib.import_module({module!r})
assert callable(getattr(module, {attribute!r}))
if hasattr(module, "document"):  # the docs function: it must find the handlers it documents
    assert module.document()["paths"], "the OpenAPI document has no paths"
"""


def main(build_dir: str) -> int:
    build = Path(build_dir)
    layer = next(build.glob("SharedLayer*/python"))
    tag = sys.implementation.cache_tag
    uncompiled = [p for p in layer.rglob("*.py") if not (p.parent / "__pycache__" / f"{p.stem}.{tag}.pyc").exists()]
    print(f"SharedLayer: {len(uncompiled)} modules without {tag} bytecode")
    failures = 1 if uncompiled else 0
    for path in uncompiled[:10]:
        print(f"  {path.relative_to(layer)}")
    for function in load().functions.values():
        module, _, attribute = function.handler.rpartition(".")
        code = CHECK.format(code=str(build / function.logical_id), layer=str(layer), module=module, attribute=attribute)
        # -I: isolated (no user site, no PYTHONPATH); -S: no site-packages, as in Lambda; -B: see above.
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-I", "-S", "-B", "-c", code],
            capture_output=True,
            text=True,
            env={"AWS_REGION": "us-east-1", "TABLE_NAME": "check", "POWERTOOLS_TRACE_DISABLED": "true"},
        )
        status = "ok" if result.returncode == 0 else "FAILED"
        print(f"{function.logical_id}: {function.handler} {status}")
        if result.returncode:
            print(result.stderr[-2000:])
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
