"""`residency check --program DIR`: a Python Pulumi program, run under Pulumi's mock runtime.

Parent side. It reads `Pulumi.yaml` (`name`, `runtime`, `main`, `runtime.options.virtualenv`,
`stackConfigDir`), picks the stack, merges the config as the Pulumi CLI does (project-level
`config:` values and defaults, then `Pulumi.<stack>.yaml`, then `--config KEY=VALUE`; a key without
a namespace belongs to the project), and runs `program_runner.py` in a subprocess with the
program's own interpreter, a timeout, no network (a network namespace of its own where Linux
allows one, and a socket guard in the runner) and an environment without any AWS or Pulumi
credential. What the child reports is written as a `pulumi stack export` document (version 3),
which the existing stack-export source reads: the rules never learn where the stack came from.

No Pulumi CLI, backend or cloud account is involved, and nothing here imports pulumi.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.errors import InputError

#: What the engine prints for a value not known until apply (policies.model.UNKNOWN_SENTINEL).
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _default_timeout() -> float:
    try:
        return max(1.0, float(os.environ.get("RESIDENCY_PROGRAM_TIMEOUT", "120")))
    except ValueError:
        return 120.0


#: Seconds a program may run (RESIDENCY_PROGRAM_TIMEOUT; 120 when unset or not a number).
DEFAULT_TIMEOUT = _default_timeout()
RUNNER = Path(__file__).with_name("program_runner.py")
NOT_PYTHON = "only Python programs run under the mock runtime; use `pulumi preview --json` for the others"
#: Environment variables the child keeps; everything else (AWS_*, PULUMI_*, tokens) is left out.
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP", "TZ", "SYSTEMROOT")


@dataclass
class Project:
    root: Path
    name: str
    main: Path
    cwd: Path
    virtualenv: str | None
    toolchain: str | None
    stack_dir: Path
    config: dict[str, Any]

    @property
    def file(self) -> Path:
        yml = self.root / "Pulumi.yml"
        return (
            yml if yml.is_file() and not (self.root / "Pulumi.yaml").is_file() else self.root / "Pulumi.yaml"
        )


@dataclass
class ProgramRun:
    """What one mock run produced: a stack-export document and what the user should know."""

    project: Project
    stack: str
    document: dict[str, Any]
    notices: list[str] = field(default_factory=list)
    declared: int = 0


def _yaml(path: Path, what: str) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", source=str(path)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"is not valid YAML{where}; fix {what}", source=str(path)) from None


def read_project(directory: str | Path) -> Project:
    root = Path(directory)
    if root.is_file() and root.name in ("Pulumi.yaml", "Pulumi.yml"):
        root = root.parent  # the project file itself names its folder
    if not root.is_dir():
        raise InputError(
            "is not a folder; --program takes the folder that holds Pulumi.yaml", source=str(root)
        )
    file = next((root / n for n in ("Pulumi.yaml", "Pulumi.yml") if (root / n).is_file()), None)
    if file is None:
        raise InputError("has no Pulumi.yaml; --program takes a Pulumi project folder", source=str(root))
    doc = _yaml(file, "the project file")
    if not isinstance(doc, dict):
        raise InputError(
            "is not a Pulumi project file (expected a mapping with name and runtime)", source=str(file)
        )
    name = doc.get("name")
    if not isinstance(name, str) or not name:
        raise InputError("has no `name`; a Pulumi project needs one", source=str(file))
    runtime = doc.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, dict) else runtime
    options = runtime.get("options") if isinstance(runtime, dict) else None
    if runtime_name != "python":
        raise InputError(f"runtime is {runtime_name!r}: {NOT_PYTHON}", source=str(file))
    main = root
    if isinstance(doc.get("main"), str) and doc["main"].strip():
        main = root / doc["main"]
        if not main.exists():
            raise InputError(f"`main: {doc['main']}` does not exist; fix Pulumi.yaml", source=str(file))
    entry = main / "__main__.py" if main.is_dir() else main
    if not entry.is_file():
        raise InputError(
            f"{entry} does not exist; a Python program's main folder needs a __main__.py", source=str(file)
        )
    # The Pulumi CLI runs a program whose `main` is a folder inside that folder.
    cwd = main if main.is_dir() else root
    options = options if isinstance(options, dict) else {}
    virtualenv = options.get("virtualenv")
    toolchain = options.get("toolchain") if isinstance(options.get("toolchain"), str) else None
    if not virtualenv and toolchain == "uv":
        virtualenv = ".venv"  # uv's default, as the Pulumi CLI uses it
    stack_dir = root / doc["stackConfigDir"] if isinstance(doc.get("stackConfigDir"), str) else root
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    return Project(
        root=root,
        name=name,
        main=main,
        cwd=cwd,
        virtualenv=virtualenv if isinstance(virtualenv, str) and virtualenv else None,
        toolchain=toolchain,
        stack_dir=stack_dir,
        config=config,
    )


def stacks_of(project: Project) -> list[str]:
    found = []
    for path in sorted(project.stack_dir.glob("Pulumi.*.y*ml")):
        stem = path.name[len("Pulumi.") :].rsplit(".", 1)[0]
        if stem and path.suffix in (".yaml", ".yml"):
            found.append(stem)
    return found


def pick_stack(project: Project, stack: str | None) -> tuple[str, Path | None, list[str]]:
    stacks = stacks_of(project)
    if stack is None:
        if len(stacks) == 1:
            return stacks[0], _stack_file(project, stacks[0]), []
        listed = ", ".join(stacks) if stacks else "none (no Pulumi.<stack>.yaml)"
        raise InputError(
            f"pass --stack NAME: the program has {len(stacks) or 'no'} stack config file(s); stacks found: {listed}",
            source=str(project.root),
        )
    short = stack.rsplit("/", 1)[-1]
    file = _stack_file(project, short)
    if file is None:
        listed = ", ".join(stacks) or "none"
        return (
            short,
            None,
            [
                f"no Pulumi.{short}.yaml in {project.stack_dir}: only Pulumi.yaml's config and --config apply "
                f"(stacks found: {listed})"
            ],
        )
    return short, file, []


def _stack_file(project: Project, stack: str) -> Path | None:
    for ext in ("yaml", "yml"):
        path = project.stack_dir / f"Pulumi.{stack}.{ext}"
        if path.is_file():
            return path
    return None


def _qualify(key: str, project: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _unsecure(value: Any, key: str, secrets: set[str]) -> Any:
    """`secure:` values cannot be decrypted without the backend: unknown, and the key is a secret."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            secrets.add(key)
            return _UNKNOWN
        return {k: _unsecure(v, key, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsecure(v, key, secrets) for v in value]
    return value


def merge_config(
    project: Project, stack_file: Path | None, overrides: Sequence[str] = ()
) -> tuple[dict[str, Any], list[str], list[str]]:
    """(config, secret keys, notices): Pulumi.yaml's config, the stack file, then --config."""
    config: dict[str, Any] = {}
    secrets: set[str] = set()
    notices: list[str] = []
    for key, spec in project.config.items():
        if not isinstance(key, str):
            continue
        full = _qualify(key, project.name)
        if isinstance(spec, dict) and ("value" in spec or "default" in spec or "type" in spec):
            if "value" in spec:
                config[full] = spec["value"]
            elif "default" in spec:
                config[full] = spec["default"]
            if spec.get("secret") is True:
                secrets.add(full)
        else:
            config[full] = spec
    if stack_file is not None:
        doc = _yaml(stack_file, "the stack config")
        if doc is not None and not isinstance(doc, dict):
            raise InputError(
                "is not a stack config (expected a mapping with `config:`)", source=str(stack_file)
            )
        stack_config = (doc or {}).get("config") or {}
        if not isinstance(stack_config, dict):
            raise InputError("`config` is not a mapping", source=str(stack_file))
        for key, value in stack_config.items():
            config[_qualify(str(key), project.name)] = value
        if (doc or {}).get("environment"):
            notices.append(
                f"{stack_file.name} imports Pulumi ESC environments, which need the backend: their values are not set"
            )
    for key in list(config):
        config[key] = _unsecure(config[key], key, secrets)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--config {item!r} is not KEY=VALUE (e.g. --config aws:region=cn-north-1)")
        full = _qualify(key.strip(), project.name)
        config[full] = value
        secrets.discard(full)
    for key in sorted(secrets):
        if config.get(key) == _UNKNOWN or (
            isinstance(config.get(key), dict | list) and _UNKNOWN in json.dumps(config[key])
        ):
            notices.append(
                f"config `{key}` is a secret (secure:) and cannot be decrypted without the backend: it is unknown "
                f"(pass --config {key}=VALUE to give it)"
            )
    return config, sorted(secrets), notices


def interpreter_for(project: Project) -> tuple[str, list[str]]:
    """The program's virtualenv's python (as Pulumi.yaml names it), else this interpreter."""
    if project.virtualenv is None:
        if project.toolchain == "poetry":
            return sys.executable, [
                "Pulumi.yaml uses the poetry toolchain, whose environment only poetry can locate: the program "
                f"ran with this interpreter ({sys.executable}); name the environment in runtime.options.virtualenv"
            ]
        return sys.executable, []
    venv = Path(project.virtualenv)
    if not venv.is_absolute():
        venv = project.root / venv
    for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
        if candidate.is_file():
            return str(candidate), []
    return sys.executable, [
        f"Pulumi.yaml's runtime.options.virtualenv `{project.virtualenv}` does not exist (a fresh checkout?): "
        f"the program ran with this interpreter ({sys.executable})"
    ]


def child_environment(home: Path | None = None) -> dict[str, str]:
    """A clean environment: no AWS_* or PULUMI_* variable (no credential, no backend token), AWS
    shared files pointed at nothing and PULUMI_HOME at an empty folder, so neither a program's own
    SDK calls nor a Pulumi CLI it starts (the Automation API) can find credentials."""
    env = {k: v for k, v in os.environ.items() if k in _KEPT_ENV}
    if home is not None:
        env["PULUMI_HOME"] = str(home)
    env.update(
        {
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONIOENCODING": "utf-8",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
    )
    return env


@functools.cache
def network_sandbox() -> tuple[str, ...]:
    """`unshare -rn` where Linux allows it: the child and anything it starts get a network namespace
    of their own, with no interface up. Elsewhere the runner's socket guard is the only fence."""
    if not sys.platform.startswith("linux"):
        return ()
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    try:
        probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return ()
    return (unshare, "-rn") if probe.returncode == 0 else ()


class PendingProgram:
    """A program started under the mock runtime in its subprocess; `result()` waits for it.

    Starting it early lets the caller load the rules while the program runs (two cores, one wall)."""

    def __init__(
        self,
        project: Project,
        stack: str,
        config: dict[str, Any],
        secret_keys: list[str],
        interpreter: str,
        notices: list[str],
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        import time

        self.project, self.stack, self.notices, self.timeout = project, stack, notices, timeout
        self._deadline = time.monotonic() + timeout
        request = {
            "project": project.name,
            "stack": stack,
            "config": config,
            "secret_keys": secret_keys,
            "main": str(project.main.resolve()),
            "cwd": str(project.cwd.resolve()),
            "root": str(project.root.resolve()),
        }
        self._tmp = tempfile.TemporaryDirectory(prefix="residency-program-")
        tmp = Path(self._tmp.name)
        request_path, self._result_path = tmp / "request.json", tmp / "result.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        home = tmp / "pulumi-home"
        home.mkdir()
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [*network_sandbox(), interpreter, str(RUNNER), str(request_path), str(self._result_path)],
                cwd=str(project.cwd),
                env=child_environment(home),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            self._tmp.cleanup()
            raise InputError(
                f"cannot start {interpreter}: {exc.strerror or exc}", source=str(project.root)
            ) from None

    def _report(self) -> dict[str, Any]:
        import time

        proc = self._proc
        assert proc is not None, "result() was already called"
        try:
            _, stderr = proc.communicate(timeout=max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.cancel()
            raise InputError(
                f"the program did not finish within {self.timeout:g} s under the mock runtime "
                "(RESIDENCY_PROGRAM_TIMEOUT sets the limit)",
                source=str(self.project.root),
            ) from None
        if not self._result_path.is_file():
            tail = (stderr or b"").decode("utf-8", "replace").strip().splitlines()
            last = tail[-1] if tail else f"exit code {proc.returncode}"
            raise InputError(
                f"the mock runtime stopped without a result: {last}", source=str(self.project.root)
            )
        return json.loads(self._result_path.read_text(encoding="utf-8"))

    def result(self) -> ProgramRun:
        """Wait for the child; its resources as a stack export, or the program's error (InputError)."""
        try:
            report = self._report()
        finally:
            self.cancel()
        return _program_run(self.project, self.stack, report, self.notices)

    def cancel(self) -> None:
        """Stop the child and whatever it started (its own process group); remove its files."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            import signal

            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (AttributeError, OSError):  # not POSIX, or already gone
                proc.kill()
            proc.wait()
        self._tmp.cleanup()


def export_document(project: Project, stack: str, report: dict[str, Any]) -> dict[str, Any]:
    """The child's resources as a `pulumi stack export` (version 3), with the root stack resource."""
    stack_urn = f"urn:pulumi:{stack}::{project.name}::pulumi:pulumi:Stack::{project.name}-{stack}"
    resources = [{"urn": stack_urn, "custom": False, "type": "pulumi:pulumi:Stack"}]
    resources.extend(report.get("resources") or [])
    return {
        "version": 3,
        "deployment": {
            "manifest": {"magic": "", "version": "residency-mock-runtime"},
            "resources": resources,
        },
    }


def start_program(
    directory: str | Path,
    stack: str | None = None,
    overrides: Sequence[str] = (),
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> PendingProgram:
    """Read the project, pick the stack, merge the config and start the program in its subprocess.

    Raises InputError (exit 2) for a project that cannot run here."""
    project = read_project(directory)
    stack_name, stack_file, notices = pick_stack(project, stack)
    config, secret_keys, config_notices = merge_config(project, stack_file, overrides)
    interpreter, venv_notices = interpreter_for(project)
    return PendingProgram(
        project,
        stack_name,
        config,
        secret_keys,
        interpreter,
        [*notices, *config_notices, *venv_notices],
        timeout,
    )


def load_program(
    directory: str | Path,
    stack: str | None = None,
    overrides: Sequence[str] = (),
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> ProgramRun:
    """Run the program under the mocks: its stack-export document and the run's notices.

    Raises InputError (exit 2) for a project that cannot run here or a program that raised.
    """
    return start_program(directory, stack, overrides, timeout=timeout).result()


def _program_run(project: Project, stack_name: str, report: dict[str, Any], notices: list[str]) -> ProgramRun:
    notices = list(notices)
    error = report.get("error")
    declared = int(report.get("declared") or 0)
    if error:
        if error.get("setup"):
            raise InputError(error["message"], source=str(project.root))
        frame = f" ({error['frame']})" if error.get("frame") else ""
        message = " ".join(str(error.get("message") or "").split())  # one line, as every exit-2 message
        if len(message) > 600:
            message = message[:600] + "..."
        raise InputError(
            f"the program failed after {declared} resource{'s' if declared != 1 else ''}: {message}{frame}",
            source=str(project.root),
        )
    for token, count in sorted((report.get("unanswered") or {}).items()):
        notices.append(
            f"data source {token} is not answered by the mock runtime ({count} call(s)): its results are unknown"
        )
    for urn in report.get("remote") or []:
        notices.append(
            f"{urn} is a component built by its provider's plugin (a multi-language component): under the mock "
            "runtime its children are not declared, so they are not checked; use `pulumi preview --json`"
        )
    for message in report.get("diagnostics") or []:
        notices.append(f"the program logged {message}")
    return ProgramRun(
        project=project,
        stack=stack_name,
        document=export_document(project, stack_name, report),
        notices=notices,
        declared=declared,
    )
