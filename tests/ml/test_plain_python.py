"""ml/ sits at the bottom of the import graph: plain Python, no Django, no app."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ml

ML_ROOT = Path(ml.__file__).parent
PROJECT_ROOT = ML_ROOT.parent
# Django, every app (anything with an apps.py) and the project package.
FORBIDDEN = {"django", "fashionshop"} | {p.parent.name for p in PROJECT_ROOT.glob("*/apps.py")}


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module or ""


def test_the_forbidden_list_names_the_apps():
    assert {"main", "cart", "accounts", "seller_accounts", "shop_ml"} <= FORBIDDEN


@pytest.mark.parametrize("path", sorted(ML_ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ML_ROOT)))
def test_ml_imports_neither_django_nor_an_app(path):
    bad = [name for name in imported_modules(path) if name.split(".")[0] in FORBIDDEN]
    assert not bad, f"ml/{path.relative_to(ML_ROOT)} imports {bad}"


def test_the_check_catches_a_django_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from django.conf import settings\n    from main.models import Product\n")
    assert [n for n in imported_modules(module) if n.split(".")[0] in FORBIDDEN] == [
        "django.conf", "main.models"]


def test_importing_ml_loads_no_django():
    code = ("import sys, ml.artifacts, ml.ann, ml.lazy, ml.styles_csv, ml.categorization, ml.recommend, "
            "ml.vision.data; print(any(m.split('.')[0] == 'django' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"
