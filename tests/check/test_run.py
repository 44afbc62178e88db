"""The checker's run: cache behaviour, module naming, internal-error containment."""

from __future__ import annotations

from pathlib import Path

import pytest

import loopsafe.check as check_pkg
from loopsafe.check import run
from loopsafe.config import Settings

BLOCKING = "import time\n\n\nasync def handler():\n    time.sleep(1)\n"


def test_cache_warm_run_reuses_every_file_and_sees_changes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING)
    (tmp_path / "b.py").write_text("async def ok():\n    return 1\n")
    settings = Settings(root=tmp_path)
    cold = run([str(tmp_path)], settings)
    assert cold.cached == 0 and len(cold.findings) == 1
    assert (tmp_path / ".loopsafe_cache" / "CACHEDIR.TAG").exists()
    warm = run([str(tmp_path)], settings)
    assert warm.cached == 2 and warm.findings == cold.findings
    (tmp_path / "b.py").write_text(BLOCKING + "\n\nasync def other():\n    time.sleep(2)\n")
    changed = run([str(tmp_path)], settings)
    assert changed.cached == 1
    assert len(changed.findings) == 3


def test_corrupt_cache_is_a_miss(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(BLOCKING)
    settings = Settings(root=tmp_path)
    run([str(tmp_path)], settings)
    for f in (tmp_path / ".loopsafe_cache").rglob("*.marshal"):
        f.write_bytes(b"\x00garbage")
    report = run([str(tmp_path)], settings)
    assert report.cached == 0 and len(report.findings) == 1


def test_internal_error_becomes_ls003_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.py").write_text(BLOCKING)
    (tmp_path / "boom.py").write_text("x = 1\n")
    real = check_pkg.index_source

    def flaky(source: str, module: str, is_package: bool) -> dict[str, object]:
        if module == "boom":
            raise KeyError("simulated bug")
        return real(source, module, is_package)

    monkeypatch.setattr(check_pkg, "index_source", flaky)
    report = run([str(tmp_path)], Settings(root=tmp_path), use_cache=False)
    assert [(Path(f.path).name, f.code) for f in report.findings] == [
        ("a.py", "LS101"),
        ("boom.py", "LS003"),
    ]
    assert "KeyError" in report.findings[1].message


def test_namespace_packages_and_src_layout_resolve(tmp_path: Path) -> None:
    # No __init__.py anywhere under app/, and a src/ layout package: both import by their usual names.
    (tmp_path / "app" / "services").mkdir(parents=True)
    (tmp_path / "app" / "services" / "slow.py").write_text(
        "import time\n\n\ndef nap():\n    time.sleep(1)\n"
    )
    (tmp_path / "app" / "main.py").write_text(
        "from app.services.slow import nap\nfrom lib.helpers import wait\n\n\nasync def route():\n"
        "    nap()\n    wait()\n"
    )
    (tmp_path / "src" / "lib").mkdir(parents=True)
    (tmp_path / "src" / "lib" / "__init__.py").write_text("")
    (tmp_path / "src" / "lib" / "helpers.py").write_text(
        "import time\n\n\ndef wait():\n    time.sleep(1)\n"
    )
    report = run([str(tmp_path)], Settings(root=tmp_path), use_cache=False)
    assert [(f.line, f.code) for f in report.findings] == [(6, "LS102"), (7, "LS102")]


def test_same_module_name_twice_keeps_both(tmp_path: Path) -> None:
    for d in ("one", "two"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "main.py").write_text(BLOCKING)
    report = run(
        [str(tmp_path / "one" / "main.py"), str(tmp_path / "two" / "main.py")],
        Settings(root=tmp_path),
        use_cache=False,
    )
    assert len(report.findings) == 2
