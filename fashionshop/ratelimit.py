"""A fixed-window request counter in the cache, for limits django-axes does not cover.

With the Redis cache (CACHE_URL) the count is shared by every worker; with the
in-process cache each worker counts alone, so the limit is per worker. An
unreachable Redis counts nothing (fashionshop.cache): nginx's limit_req still holds.
"""
import time

from django.core.cache import cache


def allow(key, limit, window_seconds):
    """Count one hit for `key`; False once `limit` hits were counted in this window."""
    bucket = f"ratelimit:{key}:{int(time.time() // window_seconds)}"
    cache.add(bucket, 0, timeout=window_seconds + 1)
    try:
        hits = cache.incr(bucket)
    except ValueError:  # the window ended between add() and incr()
        return True
    return hits <= limit
