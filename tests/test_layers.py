"""Imports run downward: app → bot → handlers → models. A lower layer never imports a higher one."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
ABOVE = {"models": {"handlers", "bot", "app"}, "handlers": {"bot", "app"}, "bot": {"app"}}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", ABOVE)
def test_no_layer_imports_one_above_it(layer):
    wrong = {str(p.relative_to(ROOT)): sorted(_imports(p) & ABOVE[layer]) for p in (ROOT / layer).rglob("*.py")}
    assert {p: w for p, w in wrong.items() if w} == {}
