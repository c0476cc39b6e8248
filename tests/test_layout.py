"""The layout shows the architecture: each package imports only packages below it.

From the bottom: ``common`` (with ``extensions`` and ``config``), ``audit`` (the history chains every domain
package writes into), then the domain packages in the order of what they build on (``accounts`` <
``masterdata`` < ``safety`` < ``documents`` < ``capas`` < ``inspections`` < ``trends``, ``suppliers``,
``changes``), then ``http`` (the request gate and error answers), then the two interfaces ``web`` and ``api``
(which never import each other), and last the application factory and the command line that assemble them.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "capa"

LAYERS: list[set[str]] = [
    {"common", "extensions", "config"},
    {"audit"},
    {"accounts"},
    {"masterdata"},
    {"safety"},
    {"documents"},
    {"capas"},
    {"inspections"},
    {"trends", "demo", "suppliers", "changes"},
    {"http"},
    {"web", "api"},
    {"cli", "__init__"},
]
#: Packages of one layer that must stay independent of each other.
SIDE_BY_SIDE = {"web", "api"}
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def top_package(module: str) -> str:
    """``capa.capas.history`` -> ``capas``; ``capa`` itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imported_capa_modules(path: Path) -> set[str]:
    """Every ``capa.*`` module a file imports, at the top or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "capa")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "capa":
                found.update(f"capa.{alias.name}" for alias in node.names)
            elif node.module.startswith("capa."):
                found.add(node.module)
    return found


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def package_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def test_every_package_has_a_layer():
    packages = {package_of(path) for path in source_files()}
    assert packages <= set(RANK), f"place these in LAYERS: {sorted(packages - set(RANK))}"


@pytest.mark.parametrize("path", source_files(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_point_down(path):
    importer = package_of(path)
    for module in imported_capa_modules(path):
        target = top_package(module)
        if target == importer:
            continue
        where = f"{path.relative_to(PACKAGE)} imports {module}"
        assert RANK[target] <= RANK[importer], f"{where}: a layer above"
        assert not {target, importer} <= SIDE_BY_SIDE, f"{where}: the pages and the API never import each other"


def test_the_rule_catches_an_upward_import(tmp_path):
    """The check itself: a domain module importing a page module is found."""
    offending = tmp_path / "service.py"
    offending.write_text("def f():\n    from capa.web.capas import views\nimport capa.api\n", encoding="utf-8")
    assert imported_capa_modules(offending) == {"capa.web.capas", "capa.api"}
    assert RANK[top_package("capa.web.capas")] > RANK["capas"]
