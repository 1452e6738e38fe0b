"""Lambda's execution environments on this machine: each function runs in processes of its own.

A container is a Python process that imports one function's handler once (its cold start) and
then serves one invocation at a time, as Lambda's do; a function gets another container when all
of its own are busy, up to its concurrency (``LOCAL_CONCURRENCY``, 4), and the requests beyond
that wait for one, as they would queue behind a reserved concurrency. Handlers keep state in
their modules (Powertools' resolver holds the current event, its metrics buffer is shared), so
two invocations never share a process. A container idle for ``LOCAL_IDLE_SECONDS`` (300) is
stopped, as Lambda reclaims idle environments.

A container's import of its handler is Lambda's init phase, with a limit of its own
(``INIT_SECONDS``) rather than the function's timeout. On Lambda each environment initialises on
a CPU of its own; here every container shares the machine's, so no more inits run at once than
it has cores, and an init's limit starts when its turn does: a burst that starts a container for
each function at once on a busy machine would otherwise run them all out of time together, and
then again on their retry. An init that runs out of time, or whose runtime exits, is tried once
more within the invocation's own timeout, as Lambda does.
An invocation that outlives the function's timeout is ended by killing its container, as Lambda
does. Invocations travel over two pipes as length-prefixed JSON; the handler's own output (its
logs) goes to `make run`'s.

``python -m local_api.containers TEMPLATE LOGICAL_ID REQUESTS_FD ANSWERS_FD`` is the container itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_api.environment import REGION, function_arn, local_names
from local_api.template import Function, Template, load

HEADER = struct.Struct(">I")
GRACE = 2.0  # seconds past the function's timeout before its container is killed
INIT_SECONDS = 10.0  # Lambda's limit on a function's init phase


class Stopping(Exception):
    """The local API is stopping: an invocation asked for now is not made (nor is it a failure)."""


class FunctionError(Exception):
    """What the handler raised, as Lambda reports it (its message is the exception's)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class LambdaContext:
    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    deadline: float = field(default_factory=lambda: time.monotonic() + 10)

    @property
    def invoked_function_arn(self) -> str:
        return function_arn(self.function_name)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def load_handler(function: Function) -> Any:
    """Import a function's handler module from its code folder, as Lambda does: its handler attribute."""
    spec = importlib.util.spec_from_file_location(f"lambda_{function.logical_id}", function.module_file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {function.module_file}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, function.attribute)


# --- the wire ----------------------------------------------------------------------------------


def _send(fd: int, message: Any) -> None:
    data = json.dumps(message).encode()
    os.write(fd, HEADER.pack(len(data)))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read(fd: int, size: int, deadline: float | None) -> bytes | None:
    """``size`` bytes, or None at end of file; TimeoutError after ``deadline`` (monotonic)."""
    chunks, wanted = [], size
    while wanted:
        if deadline is not None:
            waiting = select.poll()  # not select(): it fails for a descriptor above 1023
            waiting.register(fd, select.POLLIN)
            if not waiting.poll(max(0.0, deadline - time.monotonic()) * 1000):
                raise TimeoutError
        chunk = os.read(fd, wanted)
        if not chunk:
            return None
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def _receive(fd: int, deadline: float | None = None) -> Any:
    header = _read(fd, HEADER.size, deadline)
    if header is None:
        return None
    data = _read(fd, HEADER.unpack(header)[0], deadline)
    return None if data is None else json.loads(data)


# --- the parent's side -------------------------------------------------------------------------


class Container:
    """One function's process, serving one invocation at a time."""

    def __init__(self, function: Function, name: str, template: Path, starting: threading.Semaphore) -> None:
        self.function, self.name, self.template = function, name, template
        self.starting = starting  # the turns of the machine's inits (Containers.starting)
        self.initialised = False
        self.process: subprocess.Popen[bytes] | None = None
        self.requests = self.answers = -1
        self.last_used = time.monotonic()

    def _spawn(self) -> None:
        requests_in, self.requests = os.pipe()
        self.answers, answers_out = os.pipe()
        command = [sys.executable, "-m", "local_api.containers", str(self.template), self.function.logical_id]
        command += [str(requests_in), str(answers_out)]
        # It ends when its requests pipe does: when `make run` stops, or dies.
        self.process = subprocess.Popen(command, pass_fds=(requests_in, answers_out))  # noqa: S603 (this module)
        os.close(requests_in)
        os.close(answers_out)

    def _init(self) -> None:
        """Start the runtime, on its turn, and wait for the handler's import; FunctionError if it
        fails twice or raises."""
        with self.starting:
            self._spawn()
            try:
                answer = self._answer(INIT_SECONDS)
            except FunctionError:  # out of time, or the runtime exited: once more, within the timeout
                self._spawn()
                answer = self._answer(self.function.timeout)
        if "error" in answer:
            self.stop()
            raise FunctionError(answer["error"], answer["type"])
        self.initialised = True

    def _answer(self, seconds: float) -> dict[str, Any]:
        """The container's next message; FunctionError (its container stopped) if none comes
        within ``seconds`` (and the grace past them)."""
        try:
            answer = _receive(self.answers, time.monotonic() + seconds + GRACE)
        except TimeoutError:
            self.stop()
            raise FunctionError(f"Task timed out after {seconds:.2f} seconds", "TimeoutError") from None
        except OSError:
            answer = None
        if answer is None:
            self.stop()
            raise FunctionError("Runtime exited without providing a reason", "Runtime.ExitError")
        return answer

    def invoke(self, event: dict[str, Any]) -> Any:
        if not self.initialised:
            self._init()
        timeout = self.function.timeout
        with contextlib.suppress(OSError):  # the runtime is gone: reading its answer says so
            _send(self.requests, {"event": event, "timeout": timeout, "function_name": self.name})
        answer = self._answer(timeout)
        self.last_used = time.monotonic()
        if "error" in answer:
            raise FunctionError(answer["error"], answer["type"])
        return answer["result"]

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Kill the process; once only, since a closed descriptor's number is soon another pipe's."""
        for fd in (self.requests, self.answers):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.requests = self.answers = -1
        if self.process is not None:
            self.process.kill()
            self.process.wait()


class Containers:
    """Every function's containers: made on demand, at most ``limit`` per function."""

    def __init__(self, template: Template, names: dict[str, str], limit: int = 4, idle_seconds: float = 300) -> None:
        self.template, self.names = template, names
        self.limit, self.idle_seconds = limit, idle_seconds
        self.idle: dict[str, list[Container]] = {logical_id: [] for logical_id in template.functions}
        self.running: dict[str, int] = dict.fromkeys(template.functions, 0)
        self.changed = threading.Condition()
        self.starting = threading.Semaphore(os.cpu_count() or 1)  # inits at once: one per core
        self.stopped = False
        threading.Thread(target=self._reap_forever, name="container-reaper", daemon=True).start()

    def _acquire(self, logical_id: str) -> Container:
        with self.changed:
            while True:
                if self.stopped:
                    raise Stopping
                idle = self.idle[logical_id]
                while idle:
                    container = idle.pop()
                    if container.alive:
                        return container
                    self.running[logical_id] -= 1
                if self.running[logical_id] < self.limit:
                    self.running[logical_id] += 1
                    break
                self.changed.wait()
        try:
            return Container(
                self.template.functions[logical_id], self.names[logical_id], self.template.source, self.starting
            )
        except BaseException:
            with self.changed:
                self.running[logical_id] -= 1
                self.changed.notify_all()
            raise

    def _release(self, container: Container) -> None:
        logical_id = container.function.logical_id
        with self.changed:
            if container.alive and not self.stopped:
                self.idle[logical_id].append(container)
            else:
                self.running[logical_id] -= 1
            self.changed.notify_all()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        container = self._acquire(logical_id)
        try:
            return container.invoke(event)
        finally:
            self._release(container)

    def _reap_forever(self) -> None:
        while not self.stopped:
            time.sleep(min(self.idle_seconds, 10))
            now, stale = time.monotonic(), []
            with self.changed:
                for logical_id, idle in self.idle.items():
                    for container in [c for c in idle if now - c.last_used > self.idle_seconds]:
                        idle.remove(container)
                        self.running[logical_id] -= 1
                        stale.append(container)
                self.changed.notify_all()
            for container in stale:
                container.stop()

    def stop(self) -> None:
        with self.changed:
            self.stopped = True
            every = [c for idle in self.idle.values() for c in idle]
            for idle in self.idle.values():
                idle.clear()
            self.changed.notify_all()
        for container in every:
            container.stop()


# --- the container's side ----------------------------------------------------------------------


def serve(template_file: str, logical_id: str, requests: int, answers: int) -> None:
    """Import the handler (the init phase), say so, then answer invocations until the pipe closes."""
    from local_api.permissions import Permissions

    template = load(Path(template_file))
    permissions = Permissions(template, local_names(template, os.environ["TABLE_NAME"]))
    permissions.install()
    with permissions.acting_as(logical_id):
        try:
            handler = load_handler(template.functions[logical_id])
        except Exception as exc:
            _send(answers, {"error": str(exc), "type": f"Runtime.{type(exc).__name__}"})
            return
        _send(answers, {"ready": True})
        while True:
            message = _receive(requests)
            if message is None:
                return
            deadline = time.monotonic() + message["timeout"]
            context = LambdaContext(message["function_name"], deadline=deadline)
            try:
                answer = {"result": handler(message["event"], context)}
                json.dumps(answer)  # Lambda refuses a result that is not JSON, and so do we
            except Exception as exc:
                answer = {"error": str(exc), "type": type(exc).__name__}
            sys.stdout.flush()
            _send(answers, answer)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: `make run` stops us
    os.environ.setdefault("AWS_REGION", REGION)
    serve(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
