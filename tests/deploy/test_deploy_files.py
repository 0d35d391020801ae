"""What can be checked of the deployment files without a Docker engine."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_web_worker_database_and_nginx(compose):
    services = compose["services"]
    assert {"web", "worker", "db", "redis", "nginx", "migrate"} <= set(services)
    assert "pgdata:/var/lib/postgresql/data" in services["db"]["volumes"]
    assert "pgdata" in compose["volumes"]
    assert services["db"]["healthcheck"]["test"][1].startswith("pg_isready")
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["command"][:3] == ["celery", "-A", "fashionshop"]
    # nginx serves the same static and media volumes the app writes.
    assert "static:/app/staticfiles" in services["web"]["volumes"]
    assert {"static:/srv/static:ro", "media:/srv/media:ro"} <= set(services["nginx"]["volumes"])


def test_dockerfile_runs_gunicorn_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS base$", dockerfile, re.M)
    assert len(re.findall(r"^USER shop$", dockerfile, re.M)) == 2  # web and worker
    assert "collectstatic" in dockerfile
    # requirements are copied and installed before the code, in their own layer
    assert dockerfile.index("COPY requirements/web.txt") < dockerfile.index("COPY . .")
    assert 'CMD ["gunicorn"' in dockerfile
    # Most users cannot reach an extra wheel index; none is baked into the build.
    assert "--extra-index-url" not in dockerfile


def requirement_names(path):
    names = set()
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            names.add(re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower())
    return names


def test_the_web_image_installs_no_torch_and_make_run_installs_every_list():
    web, worker = requirement_names("requirements/web.txt"), requirement_names("requirements/worker.txt")
    image_training = requirement_names("requirements/image-training.txt")
    assert {"django", "gunicorn", "onnxruntime"} <= web
    assert not {"torch", "torchvision", "timm"} & (web | worker)
    assert "torch" in image_training
    assert "-r web.txt" in (ROOT / "requirements/worker.txt").read_text()
    everything = (ROOT / "requirements.txt").read_text()
    assert "-r requirements/worker.txt" in everything and "-r requirements/image-training.txt" in everything


def test_compose_builds_the_web_target_for_web_and_the_worker_target_for_the_rest(compose):
    services = compose["services"]
    assert services["web"]["build"]["target"] == "web"
    assert services["worker"]["build"]["target"] == services["migrate"]["build"]["target"] == "worker"
    assert services["worker"]["image"] == services["migrate"]["image"] != services["web"]["image"]
    # docker-compose 1.29, the version Debian ships, rejects a top-level `name`.
    assert "name" not in compose


def test_nginx_upload_limit_matches_the_app():
    conf = (ROOT / "nginx" / "nginx.conf").read_text()
    limit_mb = int(re.search(r"client_max_body_size (\d+)m;", conf).group(1))
    upload_mb = settings.MAX_UPLOAD_BYTES / 1_048_576
    assert upload_mb < limit_mb <= upload_mb + 2


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_configuration(tmp_path):
    # The compose service name `web` only resolves inside Docker's network.
    site = (ROOT / "nginx" / "nginx.conf").read_text().replace("server web:8000", "server 127.0.0.1:8000")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "logs").mkdir()
    (tmp_path / "nginx.conf").write_text(
        "pid %s/nginx.pid;\nerror_log %s/logs/error.log;\nevents {}\n"
        "http { access_log off; include %s/site.conf; }\n" % (tmp_path, tmp_path, tmp_path)
    )
    result = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
