"""The version matrix behind `make matrix`: every supported Python, and the declared minimums.

``newest-3.10`` ... ``newest-3.13`` run the non-browser suite with the newest releases of every
dependency; ``minimums`` runs it on the oldest supported Python with the floors of
``pyproject.toml`` pinned from ``tests/constraints-minimum.txt``; ``lint-3.10`` and ``lint-3.13``
run ruff and the strict mypy of ``make lint`` on the oldest and the newest Python, so that typing
holds for both (mypy checks against the Python it runs on when told to).

Interpreters are found on ``PATH`` and in pyenv (``pyenv root``/versions); one that is missing
is skipped with a message naming it, and the summary lists it as skipped. Virtual environments
live in ``.matrix/`` (git-ignored) and are reused while ``pyproject.toml`` and the constraints
file are unchanged; ``make matrix-clean`` removes them to pick up newer releases.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import nox

#: The supported Pythons: the classifiers in pyproject.toml and the README list the same.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
MINIMUMS = "tests/constraints-minimum.txt"
#: The suite without the browser tests (those run in `make test` and `make e2e`), two workers per core
#: as `make test` runs it (pytest-xdist).
PYTEST_ARGS = [
    "-m",
    "not e2e",
    "-q",
    "-p",
    "no:cacheprovider",
    "-n",
    str(max(2, 2 * len(os.sched_getaffinity(0)))),
    "--dist",
    "worksteal",
]

nox.options.envdir = ".matrix"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["newest", "minimums", "lint"]
# A machine without one of the Pythons still tests the others; the summary says which were skipped.
nox.options.error_on_missing_interpreters = False


def _pyenv_bin_dirs() -> list[str]:
    """The ``bin`` folders of pyenv's Pythons, newest patch release first."""
    root = os.environ.get("PYENV_ROOT", "")
    if not root and shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        root = found.stdout.strip()
    versions = Path(root or Path.home() / ".pyenv") / "versions"
    if not versions.is_dir():
        return []

    def release(path: Path) -> tuple[int, ...]:
        return tuple(int(part) if part.isdigit() else -1 for part in path.name.split("."))

    pythons = [path for path in versions.iterdir() if (path / "bin").is_dir() and path.name[:1].isdigit()]
    return [str(path / "bin") for path in sorted(pythons, key=release, reverse=True)]


# nox looks for `python3.X` on PATH: put pyenv's interpreters there (after what PATH already has,
# so a Python the user chose wins). pyenv's shims are left out: they fail for versions not selected.
os.environ["PATH"] = os.pathsep.join(
    [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if not entry.endswith("/shims")]
    + _pyenv_bin_dirs()
)


def _install(session: nox.Session, *constraints: str) -> None:
    """Install the project with its dev extras, unless this venv already holds the same inputs."""
    inputs = hashlib.sha256()
    for name in ("pyproject.toml", *constraints):
        inputs.update(Path(name).read_bytes())
    stamp = Path(session.virtualenv.location) / ".matrix-installed"
    if stamp.exists() and stamp.read_text() == inputs.hexdigest():
        session.log("Reusing the installed dependencies (pyproject.toml and constraints unchanged).")
        return
    pins = [arg for name in constraints for arg in ("-c", name)]
    session.install("--upgrade", "pip")
    session.install(*pins, "-e", ".[dev]")
    stamp.write_text(inputs.hexdigest())


def _run_suite(session: nox.Session) -> None:
    """Name the releases under test, then run the suite (extra `make matrix ARGS=...` go to pytest)."""
    session.run("python", "-c", _SHOW_RELEASES, silent=False)
    session.run("python", "-m", "pytest", *PYTEST_ARGS, *session.posargs)


_SHOW_RELEASES = (
    "import importlib.metadata as m, platform; print(f'Python {platform.python_version()}', *("
    "f'{name} {m.version(name)}' for name in ('Flask', 'Werkzeug', 'PyJWT', 'requests', 'itsdangerous', 'cachelib')"
    "), sep=', ')"
)


@nox.session(python=PYTHONS)
def newest(session: nox.Session) -> None:
    """The non-browser suite with the newest releases of every dependency."""
    _install(session)
    _run_suite(session)


@nox.session(python=PYTHONS[0])
def minimums(session: nox.Session) -> None:
    """The non-browser suite on the oldest Python with the declared minimum versions."""
    _install(session, MINIMUMS)
    _run_suite(session)


#: What ``make lint`` checks, and where.
LINTED = ["flask_authrocket", "tests", "examples", "bench", "noxfile.py"]


@nox.session(python=[PYTHONS[0], PYTHONS[-1]])
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict on the oldest and the newest supported Python."""
    # The package and what its typing needs (pytest: the plugin; redis: the cache; apispec: the OpenAPI
    # plugin), not all of dev.
    session.install(
        "-e", ".", "ruff>=0.6", "mypy>=1.10", "types-requests", "pytest>=8", "redis>=5", "apispec>=6", "nox"
    )
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    # pyproject.toml pins python_version to the oldest; here each Python checks as itself.
    version = str(session.python)
    session.run("mypy", "--strict", "--python-version", version, "flask_authrocket")
