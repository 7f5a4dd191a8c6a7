"""Child side of `residency check --program`: run one Python Pulumi program under the AWS mocks.

The parent (`policies/sources/program.py`) runs this file by path with the program's own
interpreter:

    python program_runner.py REQUEST.json RESULT.json

REQUEST holds the project and stack names, the merged stack config (strings), the secret keys,
the program's entry point and working directory. RESULT receives every resource the program
registered, in stack-export form, or the program's error with its last frame and how many
resources it had declared. Whatever the program prints goes to this process's stdout, which the
parent ignores.

Only the standard library and `pulumi` are imported here (the program's virtualenv need not have
this project installed; Python 3.9 is enough); `program_mocks.py` is loaded by path from beside this file. The network
is closed to the program: any connection to an address that is not loopback fails.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import runpy
import socket
import sys
import traceback
from pathlib import Path
from typing import Any

_MOCKS_MODULE = "_residency_program_mocks"


def _load_mocks() -> Any:
    path = Path(__file__).with_name("program_mocks.py")
    spec = importlib.util.spec_from_file_location(_MOCKS_MODULE, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MOCKS_MODULE] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


class NetworkDisabled(OSError):
    """Raised for any connection a program attempts under the mock runtime."""


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) and address else address
    if not isinstance(host, str):
        return True  # AF_UNIX paths and the like: local by nature
    return host in ("localhost", "::1") or host.startswith("127.")


def close_network() -> None:
    """No program run under the mocks reaches the network (no cloud API, no registry, no metadata)."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkDisabled(
                f"network access is disabled under the mock runtime (connect to {address!r})"
            )
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise NetworkDisabled(
                f"network access is disabled under the mock runtime (connect to {address!r})"
            )
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode(errors="replace")
        if host is not None and not _is_loopback(host):
            raise NetworkDisabled(f"network access is disabled under the mock runtime (resolve {host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


class _Diagnostics(logging.Handler):
    """What the program logs through `pulumi.log.error` (warnings, such as deprecations, are noise here)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = f"{record.levelname.lower()}: {record.getMessage()}"
        if message not in self.messages:
            self.messages.append(message)


def _program_frame(exc: BaseException, root: Path) -> str | None:
    """`file:line in function` of the last traceback frame inside the program's own code.

    The SDK re-raises what a program's callback raised inside its own errors ("While processing
    resource ..."): the chain is followed, and the innermost exception with a frame of the program
    wins."""
    found = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frame = _last_program_frame(current, root)
        if frame is not None:
            found = frame
        current = current.__cause__ or current.__context__
    return found


def _last_program_frame(exc: BaseException, root: Path) -> str | None:
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            rel = Path(frame.filename).resolve().relative_to(root)
        except (OSError, ValueError):  # outside the project: the SDK, the standard library
            continue
        if rel.parts and rel.parts[0] in ("venv", ".venv") or "site-packages" in rel.parts:
            continue
        found = f"{rel.as_posix()}:{frame.lineno} in {frame.name}"
    return found


def _describe(exc: BaseException) -> str:
    import pulumi

    text = str(exc).strip()
    if isinstance(exc, pulumi.RunError):
        return text or type(exc).__name__
    if isinstance(exc, ModuleNotFoundError):
        return (
            f"{type(exc).__name__}: {text}; install the program's requirements into the interpreter that "
            f"ran it ({sys.executable}), or name their virtualenv in Pulumi.yaml's runtime.options.virtualenv"
        )
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def run(request: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "resources": [],
        "error": None,
        "declared": 0,
        "unanswered": {},
        "diagnostics": [],
    }
    try:
        import pulumi
        from pulumi.runtime.stack import run_pulumi_func
        from pulumi.runtime.sync_await import _sync_await
    except ImportError as exc:
        result["error"] = {
            "message": (
                f"the interpreter {sys.executable} cannot import pulumi ({exc}); install the program's "
                "requirements into it (pip install -r requirements.txt)"
            ),
            "setup": True,
        }
        return result
    mocks = _load_mocks()
    diagnostics = _Diagnostics()
    logger = logging.getLogger("residency.program")
    logger.propagate = False
    logger.addHandler(diagnostics)
    monitor = mocks.install(
        request["config"],
        project=request["project"],
        stack=request["stack"],
        preview=True,
        secret_keys=request.get("secret_keys") or [],
    )
    monitor.project_root = request["root"]
    monitor_engine = pulumi.runtime.settings.SETTINGS.engine
    if hasattr(monitor_engine, "logger"):
        monitor_engine.logger = logger
    close_network()
    program = request["main"]
    root = Path(request["root"]).resolve()
    os.chdir(request["cwd"])
    program_dir = program if os.path.isdir(program) else os.path.dirname(program)
    if program_dir not in sys.path:
        sys.path.insert(0, program_dir)
    sys.argv = [program]

    def declare() -> None:
        runpy.run_path(program, run_name="__main__")

    try:
        _sync_await(run_pulumi_func(declare))
    except SystemExit as exc:
        if exc.code not in (None, 0):
            result["error"] = {
                "message": f"the program called sys.exit({exc.code!r})",
                "frame": _program_frame(exc, root),
            }
    except BaseException as exc:  # noqa: BLE001 - the program's own error, reported to the parent
        message = _describe(exc)
        unanswered = sorted(monitor.answers.unanswered)
        if unanswered:
            message += (
                f" (the program read {', '.join(unanswered)}, which the mock runtime does not answer: its result "
                "is unknown, which only the data source's `_output` form can carry; check this stack with "
                "`pulumi preview --json`)"
            )
        result["error"] = {"message": message, "frame": _program_frame(exc, root)}
    registrations = monitor.registrations
    result["resources"] = [r.state() for r in registrations]
    result["declared"] = sum(1 for r in registrations if not _is_default_provider(r))
    result["remote"] = [r.urn for r in registrations if r.remote]
    result["unanswered"] = dict(monitor.answers.unanswered)
    result["diagnostics"] = diagnostics.messages
    return result


def _is_default_provider(reg: Any) -> bool:
    return reg.type.startswith("pulumi:providers:") and (
        reg.name == "default" or reg.name.startswith("default_")
    )


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: program_runner.py REQUEST.json RESULT.json", file=sys.stderr)
        return 2
    # Run by path, this folder is sys.path[0]: a program's own `state` or `plan` module must not
    # resolve to the files beside this one.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != here]
    request = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    result = run(request)
    Path(argv[2]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
