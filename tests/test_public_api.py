"""The public API is small and explicit, and the checker's import stays light."""

from __future__ import annotations

import subprocess
import sys

import loopsafe


def test_all_is_a_sorted_tuple_of_existing_names() -> None:
    assert isinstance(loopsafe.__all__, tuple)
    assert list(loopsafe.__all__) == sorted(loopsafe.__all__)
    for name in loopsafe.__all__:
        assert getattr(loopsafe, name) is not None
    # Submodules once imported, and pytest's assertion-rewriting helpers ("@py_builtins": the
    # package holds the pytest11 plugin, so pytest rewrites it).
    public = {n for n in vars(loopsafe) if not n.startswith(("_", "@"))}
    public -= {"annotations", "TYPE_CHECKING", "Any"}
    submodules = {"check", "cli", "config", "probe", "runtime", "pytest_plugin", "shed", "testing"}
    assert public <= set(loopsafe.__all__) | submodules


def test_checker_import_pulls_no_third_party_module() -> None:
    code = (
        "import sys, loopsafe, loopsafe.check, loopsafe.cli\n"
        "heavy = {'starlette', 'anyio', 'prometheus_client', 'rich', 'libcst', 'fastapi', 'httpx',"
        " 'loopsafe.runtime', 'loopsafe.shed'}\n"
        "print(sorted(heavy & (set(sys.modules) | {m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
