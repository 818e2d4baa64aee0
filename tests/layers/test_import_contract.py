"""The layers contract of ``make lint`` (import-linter, pyproject.toml) fails on an upward import.

The package is copied to a temporary folder, one upward import is added (``core`` importing
``receipts``), and ``lint-imports`` is run on the copy with the project's own contract: it must be
broken there, and kept on the untouched copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tmp / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(tmp / "pyproject.toml")],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "src" / "choshu", tmp_path / "src" / "choshu",
                    ignore=shutil.ignore_patterns("__pycache__", "fonts", "static"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is installed by make setup")
def test_the_layers_contract_is_kept_and_an_upward_import_breaks_it(copy: Path) -> None:
    kept = _lint(copy)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "1 kept, 0 broken" in kept.stdout
    bulk = copy / "src" / "choshu" / "core" / "bulk.py"
    bulk.write_text(
        bulk.read_text(encoding="utf-8") + "\nfrom choshu.receipts import models  # noqa\n", "utf-8"
    )
    broken = _lint(copy)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "0 kept, 1 broken" in broken.stdout
    assert "choshu.core.bulk -> choshu.receipts.models" in broken.stdout
