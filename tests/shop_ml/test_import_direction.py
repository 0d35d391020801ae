"""The import direction of docs/architecture.md: apps reach ML through shop_ml.facade only,
and serving never imports the command glue."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p.parent.name for p in ROOT.glob("*/apps.py") if p.parent.name != "shop_ml")
# What an app may import of ML: the door, the task queue, and the catalog file's reader.
ALLOWED = {"shop_ml", "shop_ml.facade", "shop_ml.tasks", "ml.styles_csv"}


def imports(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "shop_ml":
                yield from (f"shop_ml.{alias.name}" for alias in node.names)
            else:
                yield node.module


def app_sources():
    return [path for app in APPS for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts]


def test_there_are_apps_to_check():
    assert {"main", "cart", "accounts", "seller_accounts", "dashboards"} <= set(APPS)


@pytest.mark.parametrize("path", app_sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_apps_reach_ml_only_through_the_door(path):
    ml_imports = [name for name in imports(path) if name.split(".")[0] in ("ml", "shop_ml")]
    assert [name for name in ml_imports if name not in ALLOWED] == []


def test_serving_never_imports_the_command_glue():
    for module in ("facade.py", "tasks.py"):
        assert not [name for name in imports(ROOT / "shop_ml" / module)
                    if name.startswith("shop_ml.management")], module


def test_the_check_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "views.py"
    bad.write_text("from ml.vision.search import ImageSearch\nfrom shop_ml import management\n")
    assert [n for n in imports(bad) if n not in ALLOWED] == ["ml.vision.search", "shop_ml.management"]


def test_accounts_imports_no_app_above_it():
    """The buyer's account sits below the cart: checkout reads the address book, and the
    cart's sign-in step is named in settings rather than imported by accounts."""
    above = ("cart", "main", "search", "seller_accounts", "experiments", "dashboards", "shop_ml")
    found = [(str(path.relative_to(ROOT)), name)
             for path in (ROOT / "accounts").rglob("*.py") if "migrations" not in path.parts
             for name in imports(path) if name.split(".")[0] in above]
    assert found == []
