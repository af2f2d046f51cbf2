"""Imports run downward: app → bot → handlers → models. A lower layer never imports a higher one."""

import ast
import re
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


def test_the_console_keeps_its_words_in_handlers_texts():
    """User text lives in handlers/texts.py: the console's code and templates hold no Chinese of their
    own (docstrings, and keys looking text up, aside)."""
    cjk = re.compile(r"[\u3400-\u9fff]")
    found = []
    for path in (ROOT / "app" / "console").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {id(node.body[0].value) for node in ast.walk(tree)
                if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        skip |= {id(node.slice) for node in ast.walk(tree) if isinstance(node, ast.Subscript)}
        found += [f"{path.name}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and cjk.search(node.value)
                  and id(node) not in skip]
    found += [f"{page.name}: {line.strip()[:60]}" for page in (ROOT / "app" / "console" / "templates").glob("*.html")
              for line in page.read_text(encoding="utf-8").splitlines() if cjk.search(line)]
    assert found == []
    assert not (ROOT / "app" / "console" / "texts.py").exists()
