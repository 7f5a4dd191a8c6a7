"""Every AWS write of the controller lives in controllers/actions.py (and the batch delete it calls)."""

from __future__ import annotations

import ast
from pathlib import Path

CONTROLLERS = Path(__file__).resolve().parents[2] / "controllers"
WRITES = ("put_", "delete_", "update_", "batch_write_item", "create_", "restore_", "copy_object")
# s3_sweep.delete_versions is called only by actions; demo.py seeds the embedded AWS it starts itself.
ALLOWED = {"actions.py", "s3_sweep.py", "demo.py"}
#: An AccessRequest's package writer puts objects under the package root, and nothing else: it never
#: deletes or configures anything, and never writes to a data store.
ONLY = {"access_package.py": {"put_object"}}


def test_no_module_but_actions_calls_a_write_api() -> None:
    offenders = []
    for path in sorted(CONTROLLERS.glob("*.py")):
        if path.name in ALLOWED:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and func.attr.startswith(WRITES):
                if func.attr not in ONLY.get(path.name, ()):
                    offenders.append(f"{path.name}:{node.lineno}: .{func.attr}()")
            # boto3 methods are also passed uncalled to the retry helper: call(retry, client.put_x, ...)
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "call" and len(node.args) > 1:
                target = node.args[1]
                if isinstance(target, ast.Attribute) and target.attr.startswith(WRITES):
                    if target.attr not in ONLY.get(path.name, ()):
                        offenders.append(f"{path.name}:{node.lineno}: call(.., {target.attr})")
    assert offenders == []


def test_only_actions_calls_the_batch_delete() -> None:
    users = [
        p.name
        for p in CONTROLLERS.glob("*.py")
        if p.name != "s3_sweep.py" and "delete_versions(" in p.read_text()
    ]
    assert users == ["actions.py"]
