"""The house keeps its shape: platform/ stays a plain folder (the standard library's `platform`
module is never shadowed) and imports between our rooms point down."""

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


# What each room may import of ours: arrows point down (STYLE.md, "The house"). ``core`` is
# the floor every room stands on (errors with codes, the queue, API and page plumbing);
# ``config`` wires everything and is imported by nothing.
MAY_IMPORT = {
    "core": set(),
    "idempotency": {"core"},  # safe retries
    "places": {"core"},
    "accounts": {"places", "core"},
    "notifications": {"accounts", "places", "core"},
    "registry": {"notifications", "accounts", "places", "core"},
    "matching": {"registry", "notifications", "accounts", "places", "core"},
    "insights": {"matching", "registry", "notifications", "accounts", "places", "core"},
    # Demo content and generators: every room, and none imports it.
    "demo": {
        "insights",
        "matching",
        "registry",
        "notifications",
        "accounts",
        "places",
        "idempotency",
        "core",
    },
}
SHARED: set[str] = set()
OURS = {
    "config",
    "core",
    "idempotency",
    "places",
    "accounts",
    "notifications",
    "registry",
    "matching",
    "insights",
    "demo",
}


def _imports(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_arrows_point_down():
    wrong = []
    for app, allowed in MAY_IMPORT.items():
        folder = REPO / app if (REPO / app).is_dir() else REPO / "platform" / app
        assert folder.is_dir(), app
        for path in folder.rglob("*.py"):
            for name in _imports(path):
                top = name.split(".")[0]
                if top not in OURS or top == app or top in allowed or name in SHARED:
                    continue
                wrong.append(f"{path.relative_to(REPO)} imports {name}")
    assert wrong == []
