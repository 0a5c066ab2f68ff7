"""`interviewace questions validate`, run as the installed command in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from server.questions.bank import DEFAULT_BANK_DIR, discover_track_ids

COMMAND = Path(sys.executable).with_name("interviewace")


def _run(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # No database and a production environment: checking files must not need either.
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"ENVIRONMENT": "production", "SECRET_KEY": "", **(env_extra or {})})
    return subprocess.run(
        [str(COMMAND), "questions", "validate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_shipped_bank_is_valid() -> None:
    result = _run()
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"question bank OK: {len(discover_track_ids())} tracks" in result.stdout


def test_a_broken_copy_fails_naming_the_problem(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    shutil.copytree(DEFAULT_BANK_DIR, bank)
    track = bank / "backend.toml"
    text = track.read_text()
    assert 'slug = "backend-cache-aside-redis"\ndifficulty = 2\n' in text
    track.write_text(
        text.replace(
            'slug = "backend-cache-aside-redis"\ndifficulty = 2\n',
            'slug = "backend-cache-aside-redis"\ndifficulty = 9\n',
        )
    )

    result = _run("--dir", str(bank))

    assert result.returncode == 1
    assert "backend.toml: question 'backend-cache-aside-redis': difficulty 9 is outside 1-5" in result.stdout
    assert f"question bank at {bank}: 1 problem(s)" in result.stdout

    assert _run("--dir", str(DEFAULT_BANK_DIR)).returncode == 0


def test_a_missing_directory_fails(tmp_path: Path) -> None:
    result = _run("--dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "bank directory does not exist" in result.stdout


def test_the_action_is_required() -> None:
    result = subprocess.run(
        [str(COMMAND), "questions"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "validate" in result.stderr or "ACTION" in result.stderr
