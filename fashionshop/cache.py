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
