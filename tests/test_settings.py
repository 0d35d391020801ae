"""Settings come from the environment: each case runs Django in a fresh process."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "a-long-random-production-secret-5b0c9f1e8d7a6b5c4d3e2f1a0b9c8d7e",
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "sqlite:////tmp/fashionshop-settings-test.sqlite3",
}


def run(args, **env):
    base = {key: value for key, value in os.environ.items()
            if key not in ("DJANGO_ENV", "SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS")}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def settings_value(expression, **env):
    # Imports the settings module alone: no database backend (e.g. MSSQL's) needs to be installed.
    code = f"import json; import fashionshop.settings as s; print(json.dumps({expression}, default=str))"
    result = run(["-c", code], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_in_production_mode():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {**PRODUCTION}
    del env["SECRET_KEY"]
    result = run(["manage.py", "check"], **env)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_development_defaults_to_sqlite_and_debug():
    values = settings_value('{"engine": s.DATABASES["default"]["ENGINE"], "debug": s.DEBUG}')
    assert values == {"engine": "django.db.backends.sqlite3", "debug": True}


def test_postgres_url_is_understood():
    db = settings_value('s.DATABASES["default"]',
                        DATABASE_URL="postgres://shop:secret@db.internal:5433/shop")
    assert (db["ENGINE"], db["HOST"], str(db["PORT"]), db["NAME"], db["USER"]) == (
        "django.db.backends.postgresql", "db.internal", "5433", "shop", "shop")


def test_mssql_url_selects_mssql_django_with_its_odbc_driver():
    db = settings_value(
        's.DATABASES["default"]',
        DATABASE_URL="mssql://shop:secret@sql.internal:1433/shop?driver=ODBC+Driver+18+for+SQL+Server",
    )
    assert (db["ENGINE"], db["HOST"], db["NAME"]) == ("mssql", "sql.internal", "shop")
    assert db["OPTIONS"]["driver"] == "ODBC Driver 18 for SQL Server"


def test_models_dir_and_hosts_come_from_the_environment(tmp_path):
    values = settings_value('{"models": str(s.MODELS_DIR), "hosts": s.ALLOWED_HOSTS}',
                            MODELS_DIR=str(tmp_path), ALLOWED_HOSTS="a.example,b.example")
    assert values == {"models": str(tmp_path), "hosts": ["a.example", "b.example"]}


@pytest.mark.parametrize("value", ["yes", "0"])
def test_debug_is_read_as_a_boolean(value):
    assert settings_value("s.DEBUG", DEBUG=value) is (value == "yes")


APP_SOURCES = [path for folder in ("accounts", "cart", "dashboards", "experiments", "fashionshop", "main",
                                   "search", "seller_accounts", "shop_ml")
               for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts]


def test_every_setting_the_code_reads_is_declared_and_every_variable_documented():
    """No hidden settings: nothing is read with a getattr default, every `settings.NAME`
    the apps read exists, and every environment variable settings.py reads is in the README."""
    import re

    from django.conf import settings

    read, hidden = set(), []
    for path in APP_SOURCES:
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r"\bsettings\.([A-Z][A-Z0-9_]+)", text))
        hidden += [f"{path.name}: {name}" for name in re.findall(r"getattr\(settings,\s*\"([A-Z0-9_]+)\"", text)]
    assert not hidden
    assert read and [name for name in sorted(read) if not hasattr(settings, name)] == []
    variables = set(re.findall(r'config\(\s*"([A-Z][A-Z0-9_]+)"',
                               (ROOT / "fashionshop" / "settings.py").read_text(encoding="utf-8")))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert {"IMAGE_COLOUR_WEIGHT", "IMAGE_THREADS", "MODELS_DIR"} <= variables
    assert [name for name in sorted(variables) if f"`{name}`" not in readme] == []
