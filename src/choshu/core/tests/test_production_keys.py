"""Production settings refuse to start with the field key beside the database (issue 14 §6)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

KEY = base64.b64encode(bytes(range(32))).decode()


def _start(var: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Load the settings as a server process would (``django.setup()``) in a clean environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CHOSHU_")}
    base.update(
        CHOSHU_VAR_DIR=str(var), CHOSHU_PRODUCTION="1", DJANGO_SETTINGS_MODULE="choshu.config.settings"
    )
    base.update(env)
    code = "import django; django.setup(); print('started')"
    return subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True, timeout=120)


def test_production_without_a_field_key_outside_the_data_refuses_to_start(tmp_path: Path) -> None:
    started = _start(tmp_path)
    assert started.returncode != 0 and "started" not in started.stdout
    assert "起動を中止しました: CHOSHU_FIELD_KEY が設定されていません" in started.stderr
    assert not (tmp_path / "field.key").exists()


def test_production_with_a_key_file_beside_the_database_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "field.key").write_text(KEY)
    started = _start(tmp_path, CHOSHU_FIELD_KEY=KEY)
    assert started.returncode != 0
    assert "個人番号暗号鍵のファイルがデータベースと同じ場所にあります" in started.stderr
    assert str(tmp_path / "field.key") in started.stderr


def test_a_sqlite_database_elsewhere_with_a_key_file_beside_it_is_refused_too(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "field.key").write_text(KEY)
    url = f"sqlite:///{data / 'choshu.sqlite3'}"
    started = _start(tmp_path / "var", CHOSHU_FIELD_KEY=KEY, CHOSHU_DATABASE_URL=url)
    assert started.returncode != 0 and str(data / "field.key") in started.stderr


def _ready(tmp_path: Path) -> dict[str, str]:
    """Everything production needs, kept outside the data directory."""
    return {
        "CHOSHU_FIELD_KEY": KEY,
        "CHOSHU_AUDIT_KEY": KEY,
        "CHOSHU_CERTIFICATE_KEY": KEY,
        "CHOSHU_AUDIT_CHECKPOINT_DIR": str(tmp_path / "worm"),
        "CHOSHU_SECRET_KEY": "x" * 50,
    }


def test_production_without_the_audit_key_or_checkpoint_place_refuses_to_start(tmp_path: Path) -> None:
    env = _ready(tmp_path)
    del env["CHOSHU_AUDIT_KEY"]
    started = _start(tmp_path, **env)
    assert started.returncode != 0 and "CHOSHU_AUDIT_KEY が設定されていません" in started.stderr
    (tmp_path / "audit.key").write_text(KEY)
    started = _start(tmp_path, **_ready(tmp_path))
    assert (
        started.returncode != 0
        and "監査ログ署名鍵のファイルがデータベースと同じ場所にあります" in started.stderr
    )
    (tmp_path / "audit.key").unlink()
    env = _ready(tmp_path)
    del env["CHOSHU_AUDIT_CHECKPOINT_DIR"]
    started = _start(tmp_path, **env)
    assert started.returncode != 0 and "CHOSHU_AUDIT_CHECKPOINT_DIR が設定されていません" in started.stderr


def test_production_without_the_certificate_key_outside_the_data_refuses_to_start(tmp_path: Path) -> None:
    """Whoever holds the 納税証明書 verification key can make a forged certificate verify (issue 21 §4)."""
    env = _ready(tmp_path)
    del env["CHOSHU_CERTIFICATE_KEY"]
    started = _start(tmp_path, **env)
    assert started.returncode != 0 and "CHOSHU_CERTIFICATE_KEY が設定されていません" in started.stderr
    (tmp_path / "certificate.key").write_text(KEY)
    started = _start(tmp_path, **_ready(tmp_path))
    assert started.returncode != 0
    assert "納税証明書の照合鍵のファイルがデータベースと同じ場所にあります" in started.stderr


def test_production_with_the_key_in_the_environment_starts(tmp_path: Path) -> None:
    started = _start(tmp_path, **_ready(tmp_path))
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"


def test_development_keeps_the_key_file_under_var(tmp_path: Path) -> None:
    started = _start(tmp_path, CHOSHU_PRODUCTION="")
    assert started.returncode == 0, started.stderr
