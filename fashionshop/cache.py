"""Django's Redis cache, made optional: an unreachable Redis is a cache miss, not a 500.

Django's RedisCache raises redis' ConnectionError or TimeoutError into the view
when Redis is down. Everything the shop caches can be recomputed from the
database, so this backend answers as an empty cache instead, logs the outage
once, and stops trying for `RETRY_SECONDS` so that each request does not pay a
connection attempt while Redis is away.
"""
import logging
import threading
import time
from functools import partial

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0


class PooledRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one redis.Redis per connection pool: Django builds a new
    one for every cache call, and that construction was a third of each call's CPU.
    A redis.Redis is thread-safe; its connections come from the shared pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PooledRedisCacheClient
        self._down_until = 0.0
        self._outage_lock = threading.Lock()
        self._in_outage = False

    def _guarded(self, call, fallback):
        """call(), or `fallback` while Redis is known to be down or when it fails now."""
        if time.monotonic() < self._down_until:
            return fallback
        try:
            result = call()
        except RedisError as exc:
            with self._outage_lock:
                self._down_until = time.monotonic() + RETRY_SECONDS
                if not self._in_outage:
                    self._in_outage = True
                    log.error("cache: Redis unreachable, serving pages uncached (retrying every "
                              "%.0fs): %s", RETRY_SECONDS, exc)
            return fallback
        if self._in_outage:
            self._in_outage = False
            log.warning("cache: Redis reachable again")
        return result

    def get(self, key, default=None, version=None):
        return self._guarded(partial(super().get, key, default, version), default)

    def get_many(self, keys, version=None):
        return self._guarded(partial(super().get_many, keys, version), {})

    def set(self, *args, **kwargs):
        return self._guarded(partial(super().set, *args, **kwargs), None)

    def set_many(self, *args, **kwargs):
        return self._guarded(partial(super().set_many, *args, **kwargs), [])

    def add(self, *args, **kwargs):
        return self._guarded(partial(super().add, *args, **kwargs), False)

    def incr(self, *args, **kwargs):
        # Counters (fashionshop.ratelimit) count nothing while Redis is away.
        return self._guarded(partial(super().incr, *args, **kwargs), 0)

    def delete(self, *args, **kwargs):
        return self._guarded(partial(super().delete, *args, **kwargs), False)

    def delete_many(self, *args, **kwargs):
        return self._guarded(partial(super().delete_many, *args, **kwargs), None)

    def touch(self, *args, **kwargs):
        return self._guarded(partial(super().touch, *args, **kwargs), False)

    def has_key(self, *args, **kwargs):
        return self._guarded(partial(super().has_key, *args, **kwargs), False)

    def clear(self):
        return self._guarded(super().clear, None)


class HeldHere:
    """Values read from the shared cache, kept in this process for a short while.

    Some values are read on every page (the catalog version, an A/B test's
    configuration) and change rarely: each Redis read costs a round trip, so a
    process keeps what it read for `seconds`. A change made in this process shows
    here at once (`put`, `forget`); the other workers see it within `seconds`.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self._held = {}  # key -> (value, read at); replaced whole, so threads need no lock

    def get(self, key, read):
        """The value held for `key`, or read() when none is held or it is too old.
        A None from read() is not held: nothing answered, so ask again next time."""
        now = time.monotonic()
        held = self._held.get(key)
        if held is not None and now - held[1] < self.seconds:
            return held[0]
        value = read()
        if value is not None:
            self._held[key] = (value, now)
        return value

    def put(self, key, value):
        self._held[key] = (value, time.monotonic())

    def forget(self, key=None):
        """Read `key` (every key when None) from the shared cache next time."""
        if key is None:
            self._held.clear()
        else:
            self._held.pop(key, None)
