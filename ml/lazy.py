"""Load an artifact once per process, on first use, from any thread."""
import logging
import threading

log = logging.getLogger("ml")


class LazyArtifact:
    """Calls `loader()` the first time `get()` is called and keeps the result.

    A loader that raises is logged once and remembered as a failure, so a
    missing or corrupt artifact costs one log line rather than one per
    request; `get()` then returns None and callers fall back. `reset()` forgets
    the result so a newly trained or activated version is picked up.
    """

    _UNSET = object()

    def __init__(self, name, loader):
        self.name = name
        self._loader = loader
        self._lock = threading.Lock()
        self._value = self._UNSET
        self.error = None

    def get(self):
        value = self._value
        if value is not self._UNSET:
            return value
        with self._lock:
            if self._value is self._UNSET:
                try:
                    self._value = self._loader()
                    self.error = None
                except Exception as exc:  # any failure means "no model": degrade, never crash
                    log.error("ml artifact %s unavailable, using fallback: %s", self.name, exc)
                    self.error = str(exc)
                    self._value = None
            return self._value

    @property
    def loaded(self):
        return self._value is not self._UNSET and self._value is not None

    def reset(self):
        with self._lock:
            self._value = self._UNSET
            self.error = None
