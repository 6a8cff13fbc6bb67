"""The house keeps its shape: platform/ stays a plain folder (the standard library's `platform`
module is never shadowed), imports between our rooms point down and no modules make a circle
(import-linter)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_platform_folder_has_no_init():
    assert (REPO / "platform").is_dir()
    assert not (REPO / "platform" / "__init__.py").exists()


def test_standard_library_platform_imports_from_the_repository_root():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import platform, sysconfig; print(platform.__file__); "
            "print(sysconfig.get_paths()['stdlib'])",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    module_file, stdlib = (Path(line) for line in result.stdout.splitlines())
    # The module came from the standard library's folder, not from our platform/ folder.
    assert module_file.resolve().parent == stdlib.resolve()
    assert not module_file.resolve().is_relative_to(REPO / "platform")


@pytest.mark.slow  # manage.py in a process of its own
def test_manage_py_starts_from_the_repository_root(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FURUSATO_VAR_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr


def test_arrows_point_down_and_modules_make_no_circles():
    """import-linter's contracts (pyproject.toml): the rooms in their layers, and no import
    circle between the modules of a room."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": f"platform{os.pathsep}."},
    )
    assert result.returncode == 0, result.stdout + result.stderr
