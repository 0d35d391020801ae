"""The Docker build context leaves out secrets, local databases, the virtualenv and runtime state.

Docker's matcher is reproduced closely enough for these patterns: each line is a
path pattern relative to the context root (`*` and `?` stay inside one path
segment, `**` spans any number), a pattern that matches a directory excludes
everything below it, `!` re-includes, and the last matching line wins.
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pattern_regex(pattern):
    parts = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            parts.append(".*")
            i += 2
        elif pattern[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            parts.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            parts.append(pattern[i:end + 1])
            i = end + 1
        else:
            parts.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(parts) + r"\Z")


def _rules():
    rules = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        rules.append((negated, _pattern_regex(pattern)))
    return rules


def excluded(path, rules):
    """Whether `path` (relative, with /) stays out of the build context."""
    segments = path.split("/")
    # A path is also left out when one of its parent directories is.
    candidates = ["/".join(segments[:n]) for n in range(1, len(segments) + 1)]
    verdict = False
    for negated, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            verdict = not negated
    return verdict


@pytest.fixture(scope="module")
def rules():
    return _rules()


@pytest.mark.parametrize("path", [
    ".env", ".env.production", ".env.local", "deploy/.env",
    "db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal",
    ".venv/bin/python", ".venv/lib/python3.11/site-packages/torch/__init__.py",
    ".git/HEAD", ".git/objects/ab/cdef",
    "media/products/abc.jpg", "media/catalog/1163.jpg",
    "models/CURRENT", "models/image-embeddings/v1/index.usearch",
    "test-artifacts/trace.zip",
    "staticfiles/staticfiles.json",
    "main/__pycache__/views.cpython-311.pyc", "__pycache__/x.pyc",
    ".pytest_cache/v/cache/nodeids", ".ruff_cache/content",
    "bench/out/load.json",
])
def test_secrets_state_and_caches_stay_out_of_the_image(rules, path):
    assert excluded(path, rules), f"{path} would be copied into the image"


@pytest.mark.parametrize("path", [
    "manage.py", "requirements.txt", "fashionshop/settings.py", "fashionshop/gunicorn.conf.py",
    "main/views.py", "main/migrations/0001_initial.py", "templates/base.html",
    "static/vendor/htmx/htmx.min.js", "data/styles.csv", "nginx/nginx.conf",
])
def test_the_code_and_shipped_data_go_in(rules, path):
    assert not excluded(path, rules), f"{path} is missing from the image"

