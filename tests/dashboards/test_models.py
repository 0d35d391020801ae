"""Model health and the model registry, on a temporary MODELS_DIR (see tests/conftest.py)."""
import json

import pytest
from django.test import Client
from django.urls import reverse

from dashboards import selectors
from ml import artifacts
from ml.lazy import LazyArtifact
from shop_ml import facade
from tests.dashboards.conftest import client_for
from tests.factories import UserFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def write_report(settings, name, content):
    folder = settings.MODELS_DIR / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(content if isinstance(content, str) else json.dumps(content))


def train_fake(settings, name, metrics, activate=True):
    return artifacts.save_joblib(settings.MODELS_DIR, name, {"weights": [1, 2]},
                                 {"data": {"rows": 100}, "metrics": metrics}, activate=activate)


@pytest.mark.django_db
def test_missing_reports_show_not_evaluated_yet(staff_client):
    response = staff_client.get(reverse("dashboards:models"))
    assert response.status_code == 200
    assert response.content.decode().count("Not evaluated yet.") == 4  # incl. name + photo


@pytest.mark.django_db
def test_reports_are_read_whatever_keys_they_hold(staff_client, settings):
    write_report(settings, "categorization", {
        "evaluated_at": "2025-03-01",
        "levels": {"gender": {"accuracy": 0.93, "macro_f1": 0.81}, "articleType": {"accuracy": 0.88}},
        "confusion": [[1, 2], [3, 4]], "n_test": 4000, "notes": "text", "bad": float("nan"),
    })
    write_report(settings, "images", {"p@10 articleType": 0.71})
    write_report(settings, "recommendations", "{not json")
    write_report(settings, "fusion", {"accuracy": {"fused": {"articleType": 0.97}}})
    response = staff_client.get(reverse("dashboards:models"))
    assert response.status_code == 200
    reports = {r["name"]: r for r in response.context["reports"]}
    assert reports["categorization"]["key_metrics"] == [
        ("levels › gender › accuracy", 0.93), ("levels › gender › macro_f1", 0.81),
        ("levels › articleType › accuracy", 0.88)]
    assert reports["categorization"]["other_metrics"] == [("n_test", 4000)]
    assert reports["images"]["key_metrics"] == [("p@10 articleType", 0.71)]
    assert reports["recommendations"]["status"] == "unreadable"
    html = response.content.decode()
    assert "Not evaluated yet." not in html and "could not be read" in html


@pytest.mark.django_db
def test_a_report_that_is_not_an_object_is_unreadable(settings):
    write_report(settings, "images", "[0.5, 0.6]")
    assert selectors.read_report("images")["status"] == "unreadable"


@pytest.mark.django_db
def test_report_figures_are_served_to_staff_only(client, staff_client, buyer_client, settings):
    write_report(settings, "categorization", {})
    (settings.MODELS_DIR / "reports" / "confusion_gender.png").write_bytes(PNG)
    url = reverse("dashboards:report_image", args=["confusion_gender.png"])
    assert client.get(url).status_code == 302
    assert buyer_client.get(url).status_code == 302
    response = staff_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == PNG
    assert "confusion_gender.png" in staff_client.get(reverse("dashboards:models")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["categorization.json", "..png", "missing.png", "%2e%2e%2fsecret.png",
                                  ".hidden.png"])
def test_report_figures_refuse_anything_but_existing_pngs(staff_client, settings, name):
    write_report(settings, "categorization", {})
    (settings.MODELS_DIR / "secret.png").write_bytes(PNG)
    (settings.MODELS_DIR / "reports" / ".hidden.png").write_bytes(PNG)
    assert staff_client.get(reverse("dashboards:report_image", args=[name])).status_code == 404


def test_report_figure_path_refuses_traversal(settings):
    assert selectors.report_image_path("../secret.png") is None
    assert selectors.report_image_path("") is None


@pytest.mark.django_db
def test_registry_lists_versions_newest_first_with_current(staff_client, settings):
    old = train_fake(settings, "categorizer", {"gender": {"accuracy": 0.9}})
    new = train_fake(settings, "categorizer", {"gender": {"accuracy": 0.95}}, activate=False)
    train_fake(settings, "recommender", {"ndcg@10": 0.3})
    (settings.MODELS_DIR / "reports").mkdir(exist_ok=True)
    response = staff_client.get(reverse("dashboards:registry"))
    assert response.status_code == 200
    registry = {entry["name"]: entry for entry in response.context["registry"]}
    assert set(registry) == {"categorizer", "recommender"}
    versions = registry["categorizer"]["versions"]
    assert [v["version"] for v in versions] == [new.name, old.name]
    assert [v["is_current"] for v in versions] == [False, True]
    assert versions[0]["key_metrics"] == [("gender › accuracy", 0.95)]
    assert versions[0]["data"] == "rows: 100"
    assert response.content.decode().count(">Serve this version</button>") == 1


@pytest.mark.django_db
def test_serving_a_version_switches_current_and_reloads_the_facade(staff_client, settings, monkeypatch):
    old = train_fake(settings, "categorizer", {"accuracy": 0.9})
    train_fake(settings, "categorizer", {"accuracy": 0.95})
    loaded = LazyArtifact("fake", lambda: "model")
    loaded.get()
    monkeypatch.setattr(facade, "_ARTIFACTS", [loaded])
    response = staff_client.post(reverse("dashboards:serve_version"),
                                 {"name": "categorizer", "version": old.name}, follow=True)
    assert response.status_code == 200
    assert artifacts.current_version(settings.MODELS_DIR, "categorizer") == old.name
    assert not loaded.loaded
    assert f"categorizer now serves version {old.name}" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("name,version", [
    ("categorizer", "20990101T000000000000Z"),
    ("../categorizer", "VERSION"),
    ("reports", "VERSION"),
    ("", ""),
])
def test_serving_an_unknown_version_changes_nothing(staff_client, settings, name, version):
    first = train_fake(settings, "categorizer", {})
    second = train_fake(settings, "categorizer", {})
    version = first.name if version == "VERSION" else version
    response = staff_client.post(reverse("dashboards:serve_version"), {"name": name, "version": version},
                                 follow=True)
    assert response.status_code == 200
    assert "There is no version" in response.content.decode()
    assert artifacts.current_version(settings.MODELS_DIR, "categorizer") == second.name


@pytest.mark.django_db
def test_serving_needs_post_staff_and_csrf(client, buyer_client, settings):
    first = train_fake(settings, "categorizer", {})
    second = train_fake(settings, "categorizer", {})
    url = reverse("dashboards:serve_version")
    data = {"name": "categorizer", "version": first.name}
    assert buyer_client.post(url, data).status_code == 302
    staff = UserFactory(username="staff2", is_staff=True)
    assert client_for(staff).get(url, data).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff)
    assert strict.post(url, data).status_code == 403
    assert artifacts.current_version(settings.MODELS_DIR, "categorizer") == second.name


@pytest.mark.django_db
def test_registry_warns_when_current_names_a_missing_version(staff_client, settings):
    train_fake(settings, "categorizer", {})
    (settings.MODELS_DIR / "categorizer" / "CURRENT").write_text("20000101T000000000000Z\n")
    (settings.MODELS_DIR / "categorizer" / "broken").mkdir()
    response = staff_client.get(reverse("dashboards:registry"))
    assert response.context["registry"][0]["current_missing"]
    assert "which is not in the folder" in response.content.decode()


@pytest.mark.django_db
def test_model_health_shows_the_served_versions_key_metrics(staff_client, settings):
    train_fake(settings, "categorizer", {"gender": {"accuracy": 0.9, "macro_f1": 0.8}, "seconds": 12})
    train_fake(settings, "recommender", {"ndcg@10": 0.31}, activate=False)
    response = staff_client.get(reverse("dashboards:models"))
    served = {entry["name"]: entry["version"] for entry in response.context["served"]}
    assert served["categorizer"]["key_metrics"] == [("gender › accuracy", 0.9), ("gender › macro_f1", 0.8)]
    assert served["recommender"] is None
    assert "No version served." in response.content.decode()
