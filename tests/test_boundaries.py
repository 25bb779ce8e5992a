"""A service imports the shared kernel and itself, never another service."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("gateway", "intake", "routing", "notifications")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def violations(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for other in imported_packages(path) & (set(SERVICES) - {package}):
            found.append(f"{path.relative_to(ROOT)} imports {other}")
    return found


@pytest.mark.parametrize("package", SERVICES)
def test_service_imports_no_other_service(package: str) -> None:
    assert (ROOT / package).is_dir()
    assert violations(package) == []


def test_kernel_imports_no_service() -> None:
    assert violations("services") == []


def test_the_check_catches_a_violation(tmp_path: Path) -> None:
    offender = tmp_path / "bad.py"
    offender.write_text("from routing.service import RoutingService\nimport intake.api as x\n")
    assert imported_packages(offender) >= {"routing", "intake"}
