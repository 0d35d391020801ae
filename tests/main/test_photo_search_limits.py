"""Photo search under load: anonymous callers are rate-limited before their photo is
decoded, and each worker runs a bounded number of forward passes at once."""
import threading
import time

import pytest
from django.urls import reverse

import main.forms
import shop_ml.facade as facade
from tests.factories import UserFactory
from tests.main.photo_search import png_bytes, upload

pytestmark = pytest.mark.django_db


def test_an_anonymous_address_is_limited_per_minute_before_decoding(client, settings, visual_model, monkeypatch):
    settings.PHOTO_SEARCH_ANONYMOUS_PER_MINUTE = 2
    decoded = []
    real_decode = main.forms.decode_upload
    monkeypatch.setattr(main.forms, "decode_upload", lambda *a, **k: decoded.append(1) or real_decode(*a, **k))
    for _ in range(2):
        assert upload(client, png_bytes()).status_code == 200
    refused = upload(client, png_bytes())
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert "many times in the last minute" in refused.content.decode()
    assert len(decoded) == 2  # the refused photo was never decoded
    # Another address is not held back by this one.
    other = client.post(reverse("main:photo_search"), {"photo": _file()}, REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 200


def _file():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("photo.png", png_bytes())


def test_signed_in_shoppers_are_not_rate_limited(client, settings, visual_model):
    settings.PHOTO_SEARCH_ANONYMOUS_PER_MINUTE = 1
    client.force_login(UserFactory())
    assert [upload(client, png_bytes()).status_code for _ in range(3)] == [200, 200, 200]


def test_a_busy_worker_answers_503_with_a_clear_message(client, settings, monkeypatch):
    class Search:
        def similar_to_image(self, image, k):
            return []

    monkeypatch.setattr(facade._image_search, "get", lambda: Search())
    monkeypatch.setattr(facade, "_forward_passes", threading.BoundedSemaphore(1))
    settings.ML_FORWARD_PASS_WAIT_SECONDS = 0.01
    facade._forward_passes.acquire()  # another request holds the only slot
    try:
        response = upload(client, png_bytes())
    finally:
        facade._forward_passes.release()
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "Photo search is busy" in response.content.decode()
    assert upload(client, png_bytes()).status_code == 200  # the slot is free again


def test_forward_passes_run_one_at_a_time_per_worker(monkeypatch, settings):
    settings.ML_FORWARD_PASS_WAIT_SECONDS = 30  # the queue, not its timeout: busy cores must not fail it
    running, peak, lock = [0], [0], threading.Lock()

    class Search:
        def similar_to_image(self, image, k):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1
            return [("1", 0.5)]

    monkeypatch.setattr(facade._image_search, "get", lambda: Search())
    monkeypatch.setattr(facade, "_forward_passes", threading.BoundedSemaphore(1))
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(facade.similar_to_image(None, k=1)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 1 and answers == [[("1", 0.5)]] * 4
