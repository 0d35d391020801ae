"""Restart PostgreSQL, then Redis, under load: clean 503s, then full recovery, no app restart.

Everything runs on scratch services of its own, so nobody else's database or cache
is touched: a PostgreSQL cluster `restartbench` (pg_createcluster, port 5439 by
default) and a redis-server (port 6389), both created here and torn down at the
end. gunicorn (fashionshop/gunicorn.conf.py, DEBUG off) serves the shop from them
on a free loopback port while threads request pages in a loop. The script then
runs `pg_ctlcluster 15 restartbench restart` and, later, restarts redis-server,
and reports for each: the answers seen, how long after the restart returned every
answer was a 200 again, and whether the gunicorn processes are the same ones.

    .venv/bin/python bench/restart.py --ports 8200-8299

Target (issue 11): only 503s (no 500, no dropped connection) during a restart and
full recovery within 5 s of it, without restarting the app.
"""
import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.load import HOST, PYTHON, ROOT, _request, free_port, manage, wait_until_up  # noqa: E402
from bench.report import write_section  # noqa: E402

PG_VERSION, PG_CLUSTER = "15", "restartbench"
PATHS = ["/", "/search/?q=shirt", "/healthz", "/c/Men/"]
THREADS = 6
TARGET_SECONDS = 5.0


def run(*command, check=True):
    return subprocess.run(command, check=check, capture_output=True, text=True)


def start_postgres(port):
    """The scratch cluster, created on first use, trusting loopback connections."""
    clusters = run("pg_lsclusters", "--no-header").stdout.split("\n")
    if not any(line.split()[:2] == [PG_VERSION, PG_CLUSTER] for line in clusters if line.strip()):
        run("pg_createcluster", PG_VERSION, PG_CLUSTER, "--port", str(port))
    hba = Path(f"/etc/postgresql/{PG_VERSION}/{PG_CLUSTER}/pg_hba.conf")
    rule = "host all all 127.0.0.1/32 trust\n"
    if not hba.read_text().startswith(rule):
        hba.write_text(rule + hba.read_text())
    run("pg_ctlcluster", PG_VERSION, PG_CLUSTER, "start", check=False)  # already running is fine
    run("pg_ctlcluster", PG_VERSION, PG_CLUSTER, "reload")
    run("createdb", "-h", HOST, "-p", str(port), "-U", "postgres", "restartbench", check=False)


def stop_postgres():
    run("pg_dropcluster", PG_VERSION, PG_CLUSTER, "--stop", check=False)


def start_redis(port):
    return subprocess.Popen(["redis-server", "--port", str(port), "--bind", HOST, "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)


class Load:
    """Threads requesting PATHS in a loop; every answer as (time, status or error)."""

    def __init__(self, port):
        self.port, self.answers, self.stop = port, [], threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.loop, args=(n,)) for n in range(THREADS)]

    def loop(self, n):
        i = n
        while not self.stop.is_set():
            try:
                status = _request(self.port, "GET", PATHS[i % len(PATHS)])[0]
            except OSError as exc:
                status = f"no answer ({exc.__class__.__name__})"
            with self.lock:
                self.answers.append((time.monotonic(), status))
            i += 1
            time.sleep(0.02)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def since(self, start):
        with self.lock:
            return [(t, s) for t, s in self.answers if t >= start]


def gunicorn_pids(master):
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {master, *map(int, children)}


def all_workers_up(master, workers, timeout=60.0):
    """The master's and its `workers` workers' pids, once all are forked: /healthz
    answers as soon as the first one is, and a later fork is no restart."""
    deadline = time.monotonic() + timeout
    while len(pids := gunicorn_pids(master)) < workers + 1:
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn started {len(pids) - 1} of {workers} workers")
        time.sleep(0.1)
    return pids


def restart_and_watch(load, restart, settle=10.0):
    """Restart something under load; the answers during and after, and the recovery time."""
    began = time.monotonic()
    restart()
    returned = time.monotonic()
    time.sleep(settle)
    answers = load.since(began)
    bad = [t for t, status in answers if status != 200]
    recovered_at = max(bad) if bad else returned
    return {"restart_seconds": round(returned - began, 2),
            "answers": Counter(str(status) for _, status in answers),
            "recovery_seconds": round(max(0.0, recovered_at - returned), 2),
            "only_503s": all(status in (200, 503) for _, status in answers)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ports", default="8200-8299", help="where gunicorn may listen (first free)")
    parser.add_argument("--pg-port", type=int, default=5439)
    parser.add_argument("--redis-port", type=int, default=6389)
    parser.add_argument("--no-report", action="store_true", help="do not write docs/benchmarks.md")
    args = parser.parse_args()

    start_postgres(args.pg_port)
    redis = start_redis(args.redis_port)
    workers = 2
    env = {**os.environ, "DEBUG": "0", "GUNICORN_WORKERS": str(workers), "GUNICORN_ACCESSLOG": "/dev/null",
           "DATABASE_URL": f"postgres://postgres@{HOST}:{args.pg_port}/restartbench",
           "REDIS_URL": f"redis://{HOST}:{args.redis_port}/0", "CELERY_BROKER_URL": ""}
    gunicorn = None
    results = {}
    try:
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "import_catalog", "--styles", "data/styles.csv", "--limit", "300", "-v0")
        low, high = (int(n) for n in args.ports.split("-"))
        port = free_port(range(low, high + 1))
        gunicorn = subprocess.Popen(
            [str(Path(PYTHON).parent / "gunicorn"), "--config", "fashionshop/gunicorn.conf.py",
             "--bind", f"{HOST}:{port}", "fashionshop.wsgi:application"], cwd=ROOT, env=env,
            stderr=subprocess.DEVNULL)
        wait_until_up(port, gunicorn)
        pids = all_workers_up(gunicorn.pid, workers)
        with Load(port) as load:
            time.sleep(5)
            results["before"] = Counter(str(status) for _, status in load.since(0))
            results["PostgreSQL"] = restart_and_watch(
                load, lambda: run("pg_ctlcluster", PG_VERSION, PG_CLUSTER, "restart"))

            def restart_redis():
                nonlocal redis
                redis.terminate()
                redis.wait()
                redis = start_redis(args.redis_port)

            results["Redis"] = restart_and_watch(load, restart_redis)
        results["same_processes"] = gunicorn_pids(gunicorn.pid) == pids
    finally:
        if gunicorn is not None:
            gunicorn.terminate()
            gunicorn.wait(timeout=60)
        redis.terminate()
        redis.wait()
        stop_postgres()

    lines = [f"`bench/restart.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}): gunicorn (2 workers, "
             f"DEBUG off) on a scratch PostgreSQL cluster and redis-server of its own, {THREADS} threads "
             f"requesting {', '.join(PATHS)} in a loop; each service restarted once under that load, "
             "answers counted from the restart command to 10 s later.", "",
             "| restarted | restart took | answers | every answer a 200 again after | only 200/503 |",
             "|---|---|---|---|---|"]
    for name in ("PostgreSQL", "Redis"):
        r = results[name]
        answers = ", ".join(f"{count}× {status}" for status, count in sorted(r["answers"].items()))
        lines.append(f"| {name} | {r['restart_seconds']} s | {answers} | {r['recovery_seconds']} s | "
                     f"{'yes' if r['only_503s'] else 'no'} |")
    ok = all(results[n]["only_503s"] and results[n]["recovery_seconds"] <= TARGET_SECONDS
             for n in ("PostgreSQL", "Redis")) and results["same_processes"]
    lines += ["", f"Same gunicorn master and workers throughout: {'yes' if results['same_processes'] else 'no'}. "
              f"Target: only 503s during a restart and every answer a 200 within {TARGET_SECONDS:.0f} s after it, "
              f"with no app restart: {'met' if ok else 'missed'}."]
    print("\n".join(lines))
    if not args.no_report:
        write_section(ROOT / "docs" / "benchmarks.md", "## PostgreSQL and Redis restarts under load",
                      "\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
