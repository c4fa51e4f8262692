"""The built wheel, not the editable tree: what a user installs from the package index.

The wheel is built from this checkout's sources without build isolation and without the network
(from a copy of what the build reads, so that the build's own folders never land in the checkout,
where two builds at once, under pytest-xdist, would trip over each other), installed into a fresh
virtual environment (its dependencies come from the project's own environment through a
path entry, so nothing is downloaded), and used there from outside the checkout: the README
quickstart runs, `python -m flask_authrocket.dev --help` answers, and the templates and py.typed are
inside.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
#: What building the wheel reads: the project's metadata, the README it names, the package.
BUILD_INPUTS = ("pyproject.toml", "README.md", "flask_authrocket")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # pip builds in the source folder (build/, *.egg-info): a copy of the sources, not the checkout.
    source = tmp_path_factory.mktemp("source")
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            out,
            source,
        ],
        check=True,
        timeout=120,
    )
    (built,) = out.glob("flask_authrocket-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; returns its python."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(home)
    python = home / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies (Flask, PyJWT ...) from this environment, behind the venv's own site-packages.
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", site, wheel],
        check=True,
        timeout=120,
    )
    return python


def run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, *args], cwd=cwd, capture_output=True, text=True, timeout=60, env={"PATH": ""})


def test_the_wheel_holds_the_templates_and_py_typed(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "flask_authrocket/py.typed" in names
    assert "flask_authrocket/dev/templates/login.html" in names
    assert {"flask_authrocket/cli/__init__.py", "flask_authrocket/dev/__init__.py"} <= names
    assert not any(name.startswith(("tests/", "examples/", "bench/")) for name in names)


def test_the_readme_quickstart_runs_from_the_installed_wheel(installed: Path, tmp_path: Path):
    quickstart = CODE_BLOCK.findall((ROOT / "README.md").read_text())[0]
    (tmp_path / "app.py").write_text(quickstart)
    probe = (
        "import flask_authrocket, app\n"
        "answer = app.app.test_client().get('/')\n"
        "print(flask_authrocket.__file__)\n"
        "print(answer.status_code, answer.headers['Location'])\n"
    )

    result = run(installed, "-c", probe, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    location, answer = result.stdout.splitlines()
    assert str(ROOT) not in location  # the wheel's copy, not the checkout's
    assert answer.startswith("302 https://myapp.e2.loginrocket.com/login?redirect_uri=")


def test_the_development_loginrocket_answers_help_from_the_installed_wheel(installed: Path, tmp_path: Path):
    result = run(installed, "-m", "flask_authrocket.dev", "--help", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "--login-url" in result.stdout
