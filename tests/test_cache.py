"""The cache backend: Redis when configured, and an unreachable Redis is a miss, not a 500."""
import logging
import os
import socket
import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings

from fashionshop import cache as resilient
from tests.test_settings import settings_value

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cache_settings(url):
    # A fresh key prefix per test: test runs never read each other's entries.
    return {"default": {"BACKEND": "fashionshop.cache.ResilientRedisCache", "LOCATION": url,
                        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
                        "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}}}


@pytest.fixture
def dead_redis():
    with override_settings(CACHES=cache_settings(f"redis://127.0.0.1:{closed_port()}/0")):
        yield caches["default"]


def redis_is_up():
    host, port = REDIS_URL.split("//", 1)[1].split("/", 1)[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_redis_url_makes_redis_the_cache_and_the_default_stays_in_process():
    assert settings_value('s.CACHES["default"]["BACKEND"]', REDIS_URL="redis://127.0.0.1:6379/1") == \
        "fashionshop.cache.ResilientRedisCache"
    assert settings_value('s.CACHES["default"]["LOCATION"]', CACHE_URL="redis://cache:6379/2") == \
        "redis://cache:6379/2"
    assert settings_value('s.CACHES["default"]["BACKEND"]', REDIS_URL="", CACHE_URL="") == \
        "django.core.cache.backends.locmem.LocMemCache"


def test_a_dead_redis_answers_like_an_empty_cache_and_logs_once(dead_redis, caplog):
    with caplog.at_level(logging.ERROR, logger="fashionshop.cache"):
        assert dead_redis.get("key", "fallback") == "fallback"
        assert dead_redis.set("key", "value", 30) is None
        assert dead_redis.get_many(["a", "b"]) == {}
        assert dead_redis.set_many({"a": 1}) == []
        assert dead_redis.add("key", "value") is False
        assert dead_redis.delete("key") is False
        assert dead_redis.get_or_set("key", lambda: "computed") == "computed"
    outages = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
    assert len(outages) == 1


def test_after_a_failure_redis_is_not_asked_again_for_a_while(dead_redis, monkeypatch):
    dead_redis.get("key")
    calls = []
    monkeypatch.setattr(type(dead_redis._cache), "get", lambda *args: calls.append(args))
    assert dead_redis.get("key", "fallback") == "fallback"
    assert calls == []
    monkeypatch.setattr(resilient.time, "monotonic", lambda: dead_redis._down_until + 1)
    dead_redis.get("key")
    assert len(calls) == 1


@pytest.mark.django_db
def test_pages_render_uncached_with_redis_down(dead_redis, client, caplog):
    from tests.factories import ProductFactory

    product = ProductFactory(gender="Men", sub_category="Topwear", article_type="Shirts")
    with caplog.at_level(logging.ERROR, logger="fashionshop.cache"):
        for url in ("/", "/c/Men/", "/c/Men/Topwear/?colour=Blue", f"/p/{product.sku}/",
                    "/search/?q=shirt"):
            assert client.get(url).status_code == 200, url
    assert any("Redis unreachable" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(not redis_is_up(), reason=f"no Redis at {REDIS_URL}")
def test_a_live_redis_stores_and_shares_values():
    with override_settings(CACHES=cache_settings(REDIS_URL)):
        cache = caches["default"]
        cache.set("answer", {"n": 42}, 30)
        assert cache.get("answer") == {"n": 42}
        assert cache.get_many(["answer", "missing"]) == {"answer": {"n": 42}}
        cache.delete("answer")
        assert cache.get("answer") is None


@pytest.mark.skipif(not redis_is_up(), reason=f"no Redis at {REDIS_URL}")
def test_every_cache_call_and_thread_shares_one_redis_client_and_its_pool():
    import threading

    with override_settings(CACHES=cache_settings(REDIS_URL)):
        cache = caches["default"]
        clients = set()

        def use():
            cache.set("shared", 1, 30)
            assert cache.get("shared") == 1
            clients.add(id(cache._cache.get_client(write=True)))

        threads = [threading.Thread(target=use) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(clients) == 1
        assert cache._cache.get_client() is cache._cache.get_client(write=True)


def test_held_here_keeps_a_read_for_its_seconds_then_reads_again(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(resilient.time, "monotonic", lambda: now[0])
    reads = []
    held = resilient.HeldHere(seconds=1.0)

    def read():
        reads.append(now[0])
        return len(reads)

    assert held.get("k", read) == 1
    now[0] += 0.9
    assert held.get("k", read) == 1 and len(reads) == 1
    now[0] += 0.2
    assert held.get("k", read) == 2  # too old: read again
    held.put("k", 42)
    assert held.get("k", read) == 42  # a change made here shows at once
    held.forget("k")
    assert held.get("k", read) == 3
    held.forget()
    assert held.get("k", read) == 4


def test_held_here_does_not_keep_a_read_that_found_nothing():
    held = resilient.HeldHere(seconds=60)
    answers = iter([None, "found"])
    assert held.get("k", lambda: next(answers)) is None
    assert held.get("k", lambda: next(answers)) == "found"
