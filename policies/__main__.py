"""CrossGuard entry point: the Pulumi CLI runs `python -m pulumi.policy <engine> .` in this folder.

`pulumi.policy` runs this file as a program with this folder first on sys.path. The folder is the
`policies` package itself, so it is loaded under that name (its modules must not shadow top-level
ones such as `types`), which also works in a published pack where no parent folder exists.
Everything else is in `policies/pack.py`; `main()` blocks serving the analyzer.
"""

import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__" and "policies.pack" not in sys.modules:
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    if "policies" not in sys.modules:
        _spec = importlib.util.spec_from_file_location(
            "policies", os.path.join(_HERE, "__init__.py"), submodule_search_locations=[_HERE]
        )
        _package = importlib.util.module_from_spec(_spec)
        sys.modules["policies"] = _package
        _spec.loader.exec_module(_package)

    from policies.pack import main

    main()
