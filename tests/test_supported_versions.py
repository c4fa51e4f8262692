"""The versions the project claims are the versions `make matrix` tests.

pyproject.toml's floors equal the pins of tests/constraints-minimum.txt, its classifiers name
exactly the Pythons of noxfile.py, and the README says the same.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest needs tomli on 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def floors() -> dict[str, str]:
    """Each dependency's ``>=`` version, by its name as pyproject.toml spells it."""
    found = {}
    for line in pyproject()["dependencies"]:
        requirement = Requirement(line)
        (minimum,) = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        found[requirement.name] = minimum
    return found


def minimum_pins() -> dict[str, Version]:
    """The ``==`` pins of the constraints file, by lower-cased name."""
    pins = {}
    for line in (ROOT / "tests" / "constraints-minimum.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.strip().lower()] = Version(version)
    return pins


def matrix_pythons() -> list[str]:
    """``PYTHONS`` of noxfile.py, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id == "PYTHONS" for target in targets):
                assert node.value is not None
                value = ast.literal_eval(node.value)
                assert isinstance(value, list)
                return value
    raise AssertionError("noxfile.py has no PYTHONS list")


def test_the_constraints_pin_exactly_the_declared_floors():
    assert minimum_pins() == {name.lower(): Version(version) for name, version in floors().items()}


def test_every_dependency_has_a_floor_and_no_ceiling():
    for line in pyproject()["dependencies"]:
        operators = {spec.operator for spec in Requirement(line).specifier}
        assert operators == {">="}, line


def test_pyjwt_2_10_0_is_not_allowed():
    # It matched a string issuer as a substring (CVE-2024-53861); the issuer check is PyJWT's.
    (pyjwt,) = [Requirement(line) for line in pyproject()["dependencies"] if line.lower().startswith("pyjwt")]
    assert not pyjwt.specifier.contains("2.10.0")
    assert pyjwt.specifier.contains("2.10.1")


def test_the_classifiers_name_exactly_the_pythons_of_the_matrix():
    prefix = "Programming Language :: Python :: "
    named = [c.removeprefix(prefix) for c in pyproject()["classifiers"] if re.fullmatch(r".*:: 3\.\d+", c)]
    assert named == matrix_pythons()


def test_requires_python_admits_the_oldest_python_of_the_matrix_and_no_older():
    requires = SpecifierSet(pyproject()["requires-python"])
    oldest = matrix_pythons()[0]
    major, minor = (int(part) for part in oldest.split("."))
    assert requires.contains(f"{oldest}.0")
    assert not requires.contains(f"{major}.{minor - 1}.99")


def test_the_readme_names_the_supported_pythons_and_floors():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Supported versions", 1)[1].split("\n## ", 1)[0]
    pythons = matrix_pythons()
    assert f"Python {', '.join(pythons[:-1])} and {pythons[-1]}" in section
    for name, version in floors().items():
        assert re.search(rf"\b{name} {re.escape(version)}(?![.\d])", section), f"the README omits {name} {version}"
