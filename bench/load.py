"""Load test: gunicorn + PostgreSQL on 127.0.0.1, closed loop, bounded in time and count.

    .venv/bin/python bench/load.py [--database-url postgres://postgres@127.0.0.1:5432/fashionshop_bench]
                                   [--connections 8,32,128] [--seconds 20] [--workers 3]

Prepares the database (migrate, import the shipped catalog, train missing
models, demo accounts) unless --no-setup, starts gunicorn on a free loopback
port, and for each scenario and connection count runs `connections` client
threads, each sending requests back to back over one keep-alive connection
until the time or request budget is spent. Prints p50/p95/p99 latency,
throughput and errors, and each scenario's throughput as a ratio of /healthz
(a page that touches only the database) measured in the same run. Only
loopback addresses are ever contacted.
"""
import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
MAX_REQUESTS_PER_RUN = 200_000


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


class Session:
    """One keep-alive HTTP connection with its own cookies (for CSRF and login)."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def csrf_token(self):
        self.request("GET", "/accounts/login/")
        return self.cookies.get("csrftoken", "")

    def login(self, username, password):
        token = self.csrf_token()
        body = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        status, _ = self.request("POST", "/accounts/login/", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://{HOST}:{self.port}/"})
        return status in (200, 302)


def multipart(field, filename, payload, token):
    boundary = "----fashionshop-bench"
    parts = [
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{token}\r\n".encode(),
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n".encode() + payload + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def scenarios(port, sample_sku, photo):
    """name -> function(session) returning the HTTP status of one request."""
    referer = {"Referer": f"http://{HOST}:{port}/"}

    def get(path):
        return lambda session: session.request("GET", path)[0]

    def categorize(session):
        token = session.cookies.get("csrftoken") or session.csrf_token()
        body = json.dumps({"name": "Roadster Men Navy Blue Slim Fit Denim Jeans"})
        return session.request("POST", "/api/categorize", body, {
            "Content-Type": "application/json", "X-CSRFToken": token, **referer})[0]

    def photo_search(session):
        token = session.cookies.get("csrftoken") or session.csrf_token()
        body, content_type = multipart("photo", "query.jpg", photo, token)
        return session.request("POST", "/search/photo/", body, {"Content-Type": content_type, **referer})[0]

    return {
        "healthz (baseline)": (get("/healthz"), False),
        "home": (get("/"), False),
        "filtered listing": (get("/c/Men/Topwear/?colour=Blue&sort=price_asc"), False),
        "product page + recommendations": (get(f"/p/{sample_sku}/"), False),
        "categorize API": (categorize, True),
        "photo search": (photo_search, False),
    }


def run_load(port, action, needs_login, connections, seconds, max_requests):
    latencies, errors, lock = [], [0], threading.Lock()
    budget = [max_requests]
    # One signed-in session shared by every connection (a seller with many tabs):
    # password hashing is not what is measured, so it happens before the clock starts.
    cookies = {}
    if needs_login:
        signer = Session(port)
        if not signer.login("seller-urban-threads", "demo-pass-2026"):
            raise SystemExit("could not sign in as the demo seller")
        cookies = signer.cookies
    window = {}

    def start_clock():
        window["started"] = time.monotonic()
        window["deadline"] = window["started"] + seconds

    ready = threading.Barrier(connections + 1, action=start_clock)

    def worker():
        session = Session(port)
        session.cookies = dict(cookies)
        ready.wait()
        local = []
        while time.monotonic() < window["deadline"]:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            started = time.perf_counter()
            try:
                ok = action(session) < 400
            except (OSError, http.client.HTTPException):
                ok = False
            local.append(time.perf_counter() - started)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - window["started"]
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else float("nan")

    return {"connections": connections, "requests": len(latencies), "errors": errors[0],
            "throughput": len(latencies) / elapsed, "p50_ms": pct(50), "p95_ms": pct(95),
            "p99_ms": pct(99), "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan")}


def wait_until_up(port, process, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            if Session(port).request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer /healthz in time")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fashionshop_bench"))
    parser.add_argument("--connections", default="8,32,128")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--only", help="regex of scenario names to run")
    parser.add_argument("--no-setup", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "load.json"))
    args = parser.parse_args()

    env = {**os.environ, "DATABASE_URL": args.database_url, "DEBUG": "False",
           "ALLOWED_HOSTS": HOST, "LOG_LEVEL": "WARNING",
           "MODELS_DIR": os.environ.get("MODELS_DIR", str(ROOT / "models"))}
    if args.database_url.startswith("postgres"):
        name = args.database_url.rsplit("/", 1)[1]
        subprocess.run(["createdb", "-h", HOST, "-U", "postgres", name], capture_output=True)
    if not args.no_setup:
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "import_catalog", "--styles", "data/styles.csv", "--images", "data/images", "-v0")
        manage(env, "create_demo_accounts")
        manage(env, "train_models", "--if-missing")
        manage(env, "collectstatic", "--noinput", "-v0")

    port = free_port()
    gunicorn = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "--config", "fashionshop/gunicorn.conf.py",
         "--bind", f"{HOST}:{port}", "--workers", str(args.workers), "--access-logfile", "/dev/null",
         "fashionshop.wsgi:application"], cwd=ROOT, env=env)
    try:
        wait_until_up(port, gunicorn)
        probe = Session(port)
        status, home = probe.request("GET", "/")
        sample_sku = re.search(rb'href="/p/([^/"]+)/"', home).group(1).decode()
        photo = next((ROOT / "data" / "images").glob("*.jpg")).read_bytes()
        results = {}
        pattern = re.compile(args.only) if args.only else None
        for name, (action, needs_login) in scenarios(port, sample_sku, photo).items():
            if pattern and not pattern.search(name) and "baseline" not in name:
                continue
            for warm in range(2):  # warm every worker's caches and models
                run_load(port, action, needs_login, args.workers * 2, 2, 50)
            for connections in (int(c) for c in args.connections.split(",")):
                result = run_load(port, action, needs_login, connections, args.seconds, MAX_REQUESTS_PER_RUN)
                results.setdefault(name, []).append(result)
                print(f"{name:32} c={connections:<4} {result['throughput']:7.1f} req/s  "
                      f"p50 {result['p50_ms']:7.1f} ms  p95 {result['p95_ms']:7.1f} ms  "
                      f"p99 {result['p99_ms']:7.1f} ms  errors {result['errors']}", flush=True)
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)

    baseline = {r["connections"]: r["throughput"] for r in results.get("healthz (baseline)", [])}
    print("\nthroughput as a ratio of /healthz at the same connection count:")
    for name, runs in results.items():
        ratios = "  ".join(f"c={r['connections']}: {r['throughput'] / baseline[r['connections']]:.2f}"
                           for r in runs if baseline.get(r["connections"]))
        print(f"  {name:32} {ratios}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"machine": {"cores": os.cpu_count()},
                                          "workers": args.workers, "results": results}, indent=2))


if __name__ == "__main__":
    main()
