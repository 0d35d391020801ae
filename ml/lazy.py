"""Load an artifact once per process, on first use, from any thread."""
import logging
import threading
import time

log = logging.getLogger("ml")


class LazyArtifact:
    """Calls `loader()` the first time `get()` is called and keeps the result.

    A loader that raises is logged once and remembered as a failure, so a
    missing or corrupt artifact costs one log line rather than one per
    request; `get()` then returns None and callers fall back. `reset()` forgets
    the result so a newly trained or activated version is picked up.

    With `version`, a cheap callable naming the version on disk, `get()` looks
    at it every `check_seconds` and reloads when it changed: every worker
    process follows a retraining or a switch of version, not only the one that
    made it.
    """

    _UNSET = object()

    def __init__(self, name, loader, version=None, check_seconds=10.0):
        self.name = name
        self._loader = loader
        self._version = version
        self._check_seconds = check_seconds
        self._lock = threading.Lock()
        self._value = self._UNSET
        self._loaded_version = None
        self._checked_at = 0.0
        self.error = None

    def _stale(self):
        if self._version is None or time.monotonic() - self._checked_at < self._check_seconds:
            return False
        self._checked_at = time.monotonic()
        try:
            return self._version() != self._loaded_version
        except OSError:
            return False

    def get(self):
        value = self._value
        if value is not self._UNSET and not self._stale():
            return value
        if value is not self._UNSET:
            log.info("ml artifact %s changed on disk, reloading", self.name)
            self.reset()
        with self._lock:
            if self._value is self._UNSET:
                self._checked_at = time.monotonic()
                try:
                    self._loaded_version = self._version() if self._version else None
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

    @property
    def version(self):
        """The version of what is loaded (None before loading, or when unversioned)."""
        return self._loaded_version

    def reset(self):
        with self._lock:
            self._value = self._UNSET
            self.error = None
