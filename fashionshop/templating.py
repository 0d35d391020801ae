"""Helpers for views whose pages are mostly served from the fragment cache."""
from functools import cache as once
from functools import partial

from django.utils.functional import SimpleLazyObject


def computed_when_read(compute, names):
    """{name: lazy value} for a template context. `compute()` returns a dict holding every
    name; it runs once, and only if the template reads one of them, so a page whose
    fragment is in the cache does none of that work."""
    computed = once(compute)
    return {name: SimpleLazyObject(partial(lambda name: computed()[name], name)) for name in names}
