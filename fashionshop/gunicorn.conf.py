"""gunicorn settings; every value can be overridden from the environment."""
import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# The usual 2×cores+1, capped.
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
# One request at a time per worker: with one thread gunicorn runs its sync worker.
# With two, a thread back from PostgreSQL or Redis waited for the other's GIL (up to
# the 5 ms switch interval, several times a page): under load the p99 was about
# twice as high, for no more throughput (docs/benchmarks.md, "Serving"). The sync
# worker reads whole requests itself, so slow clients must meet nginx first, which
# buffers them (nginx/nginx.conf), as compose and docs/deploy.md set it up.
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5  # threaded workers only: the sync worker closes after each response
# Recycling workers bounds a slow leak, but a new worker's first requests touch
# pages it then copies from the master, so it is off unless asked for.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


# The master imports the shop and loads every ML artifact once, then forks: the
# workers share those pages copy-on-write instead of each loading its own copy
# (bench/load.py reports each worker's private memory). A retrained or switched
# version is still served everywhere: each worker notices the new CURRENT within
# seconds and loads it for itself (ml/lazy.py).
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"


def when_ready(server):
    """In the master, after the app is loaded and before any worker is forked."""
    if not preload_app:
        return
    # Imported here: gunicorn reads this file before Django is set up.
    from django.db import connections

    from shop_ml import facade

    facade.warm_up()
    connections.close_all()  # a forked worker must open its own database connection
    # Move everything loaded so far out of the collector's reach: collections in a
    # worker would otherwise write to every object's header and unshare its page.
    gc.collect()
    gc.freeze()


def post_worker_init(worker):
    # Without preloading, load the ML artifacts before the first request instead of during it.
    from shop_ml import facade  # imported here: gunicorn reads this file before Django is set up

    facade.warm_up()


def worker_exit(server, worker):
    """In the worker, after gunicorn's own cleanup: end the process without running
    C++ static destructors.

    ONNX Runtime starts a thread in the master when the preloaded encoder is
    loaded; a forked worker inherits its handle but not the thread, and ONNX
    Runtime's destructor then aborted every worker on shutdown or reload (SIGABRT,
    an ERROR line each). The exit code gunicorn was about to use is kept: it tells
    the master whether the worker failed to boot.
    """
    import logging
    import sys

    from django.db import connections

    raised = sys.exc_info()[1]  # gunicorn calls this while its sys.exit(code) unwinds
    code = raised.code if isinstance(raised, SystemExit) else raised
    connections.close_all()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # As Python's own exit would: an int as it is, None as 0, anything else as 1.
    os._exit(code if isinstance(code, int) else int(code is not None))
