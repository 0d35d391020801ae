import logging
import threading

from ml.lazy import LazyArtifact


def test_loads_once_even_from_many_threads():
    calls = []

    def loader():
        calls.append(1)
        return object()

    artifact = LazyArtifact("thing", loader)
    results = []
    threads = [threading.Thread(target=lambda: results.append(artifact.get())) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len({id(r) for r in results}) == 1
    assert artifact.loaded


def test_a_failing_loader_is_logged_once_and_gives_none(caplog):
    calls = []

    def loader():
        calls.append(1)
        raise FileNotFoundError("models/thing/CURRENT")

    artifact = LazyArtifact("thing", loader)
    with caplog.at_level(logging.ERROR, logger="ml"):
        assert artifact.get() is None
        assert artifact.get() is None
    assert len(calls) == 1
    assert caplog.text.count("ml artifact thing unavailable") == 1
    assert "CURRENT" in artifact.error and not artifact.loaded


def test_reset_loads_again():
    values = iter(["v1", "v2"])
    artifact = LazyArtifact("thing", lambda: next(values))
    assert artifact.get() == "v1"
    artifact.reset()
    assert artifact.get() == "v2"


def test_a_new_version_on_disk_is_picked_up_by_every_holder():
    on_disk = {"version": "a"}
    artifact = LazyArtifact("thing", lambda: f"model-{on_disk['version']}",
                            version=lambda: on_disk["version"], check_seconds=0)
    assert artifact.get() == "model-a"
    assert artifact.get() == "model-a"
    on_disk["version"] = "b"
    assert artifact.get() == "model-b"


def test_version_checks_are_rate_limited():
    checks = []

    def version():
        checks.append(1)
        return "a"

    artifact = LazyArtifact("thing", lambda: "model", version=version, check_seconds=3600)
    for _ in range(100):
        artifact.get()
    assert len(checks) == 1  # read once at load, then not again within the hour
