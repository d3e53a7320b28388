"""imports/ sits below users and records (DESIGN: Layers): the engine knows no kind of import,
each kind hands it an ImportKind, and a worker finds one through settings.IMPORT_KINDS."""

import ast
from pathlib import Path

import imports

ABOVE = {"users", "records", "invitations", "portals", "mailoptions", "campaigns_users"}


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_layers_the_import_engine_imports_no_app_above_it():
    root = Path(imports.__file__).parent
    found = {
        (str(path.relative_to(root)), module)
        for path in root.rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in ABOVE
    }
    assert found == set()
