"""`make run`'s Lambda containers: the init phase has a limit of its own and is tried again, as
Lambda's is; a handler's failure and an invocation past its timeout are Lambda's errors."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_api.containers import Containers, FunctionError
from local_api.template import load


@pytest.fixture
def function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Containers]]:
    """A template of one function (timeout 1 s) whose code the test writes to ``app.py``."""
    code = tmp_path / "code"
    code.mkdir()
    (tmp_path / "template.yaml").write_text(
        textwrap.dedent(f"""\
            Resources:
              Echo:
                Type: AWS::Serverless::Function
                Properties:
                  CodeUri: {code}
                  Handler: app.handler
                  Timeout: 1
              Table:
                Type: AWS::DynamoDB::Table
            """)
    )
    monkeypatch.setenv("TABLE_NAME", "unused")
    template = load(tmp_path / "template.yaml")
    containers = Containers(template, {"Echo": "echo"}, limit=1)
    yield code, containers
    containers.stop()


def write(code: Path, source: str) -> None:
    (code / "app.py").write_text(textwrap.dedent(source))


def test_an_init_longer_than_the_timeout_is_not_a_timeout(function: tuple[Path, Containers]) -> None:
    code, containers = function
    write(
        code,
        """\
        import time
        time.sleep(1.5)  # longer than the function's timeout, well inside Lambda's 10 s of init

        def handler(event, context):
            return {"echo": event["n"]}
        """,
    )
    assert containers.invoke("Echo", {"n": 1}) == {"echo": 1}
    started = time.monotonic()
    assert containers.invoke("Echo", {"n": 2}) == {"echo": 2}
    assert time.monotonic() - started < 1, "the warm container imported its handler again"


def test_a_runtime_that_exits_during_init_is_started_again(function: tuple[Path, Containers]) -> None:
    code, containers = function
    write(
        code,
        f"""\
        import os
        from pathlib import Path

        tries = Path({str(code / "tries")!r})
        tries.write_text(tries.read_text() + "x" if tries.exists() else "x")
        if tries.read_text() == "x":
            os._exit(3)  # the first init dies

        def handler(event, context):
            return {{"inits": tries.read_text()}}
        """,
    )
    assert containers.invoke("Echo", {}) == {"inits": "xx"}


def test_an_init_that_raises_fails_the_invocation_with_its_error(function: tuple[Path, Containers]) -> None:
    code, containers = function
    write(code, 'raise ValueError("no configuration")\n')
    with pytest.raises(FunctionError) as failed:
        containers.invoke("Echo", {})
    assert (str(failed.value), failed.value.kind) == ("no configuration", "Runtime.ValueError")


def test_a_handler_error_and_a_timeout_are_lambdas(function: tuple[Path, Containers]) -> None:
    code, containers = function
    write(
        code,
        """\
        import time

        def handler(event, context):
            if event.get("sleep"):
                time.sleep(event["sleep"])
            raise KeyError("missing")
        """,
    )
    with pytest.raises(FunctionError) as failed:
        containers.invoke("Echo", {})
    assert (str(failed.value), failed.value.kind) == ("'missing'", "KeyError")
    with pytest.raises(FunctionError) as failed:
        containers.invoke("Echo", {"sleep": 5})
    assert (str(failed.value), failed.value.kind) == ("Task timed out after 1.00 seconds", "TimeoutError")
    with pytest.raises(FunctionError) as failed:  # a new container serves the next one
        containers.invoke("Echo", {})
    assert failed.value.kind == "KeyError"
