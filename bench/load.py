"""Load test: gunicorn + PostgreSQL on 127.0.0.1, driven by wrk over spreads of URLs.

    .venv/bin/python bench/load.py [--database-url postgres://postgres@127.0.0.1:5432/fs_serving]
                                   [--connections 32] [--seconds 20] [--soak-seconds 60]
                                   [--only REGEX] [--no-setup]

Prepares the database (migrate, import the shipped catalog, demo accounts and
simulated shoppers, missing models) unless --no-setup, starts gunicorn with
fashionshop/gunicorn.conf.py on a free loopback port (DEBUG off, its default
workers and threads) and, per scenario, runs `wrk` (one thread, so the load
generator costs little of the cores it measures) with bench/spread.lua, which
picks every request at random from the scenario's spread: 2,000 products,
~240 filtered listings, every category page, 20 queries (bench/spread.py).
Each scenario runs for an anonymous shopper (a session cookie from a first
visit) and for the signed-in demo buyer. Then a soak at 128 connections over
every URL counts errors and timeouts.

Before the load, every model answers in (very likely) every worker: the
categorize API and photo search, 40 times each on fresh connections. Beside
each figure: the load average, the ratio to /healthz (framework + one query,
the ceiling) from the same run, and every gunicorn process's RSS, private
dirty and PSS memory from /proc/PID/smaps_rollup. Only loopback addresses are
ever contacted.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
HOST = "127.0.0.1"
DEMO_PASSWORD = "demo-pass-2026"
WRK_TIMEOUT = "10s"


def free_port(ports):
    """The first free port of `ports` on the loopback address."""
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {ports}")


def manage(env, *args):
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def _request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    cookies = {}
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
    conn.close()
    return response.status, cookies


def anonymous_cookie(port, product_path):
    """The cookies a browser holds after its first product page (the shop starts a
    session only for a caller that sent back its CSRF cookie, which any page sets)."""
    _, first = _request(port, "GET", "/accounts/login/")
    csrf = f"csrftoken={first['csrftoken']}"
    _, cookies = _request(port, "GET", product_path, headers={"Cookie": csrf})
    return f"{csrf}; sessionid={cookies['sessionid']}"


def signed_in_cookie(port, username="buyer"):
    _, cookies = _request(port, "GET", "/accounts/login/")
    token = cookies["csrftoken"]
    body = urlencode({"username": username, "password": DEMO_PASSWORD, "csrfmiddlewaretoken": token})
    status, more = _request(port, "POST", "/accounts/login/", body, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={token}",
        "Referer": f"http://{HOST}:{port}/"})
    if "sessionid" not in more:
        raise SystemExit(f"could not sign in as {username} (HTTP {status})")
    return f"sessionid={more['sessionid']}"


def exercise_models(port, rounds=40):
    """Make every model answer in (very likely) every worker before memory is read: a new
    connection per request lets the kernel hand each to any worker."""
    cookie = signed_in_cookie(port, "seller-urban-threads")
    _, cookies = _request(port, "GET", "/search/photo/", headers={"Cookie": cookie})
    token = cookies.get("csrftoken", "")
    headers = {"Cookie": f"{cookie}; csrftoken={token}", "X-CSRFToken": token,
               "Referer": f"http://{HOST}:{port}/"}
    photo = next((ROOT / "data" / "images").glob("*.jpg")).read_bytes()
    boundary = "----bench-photo"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"q.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode() + photo + f"\r\n--{boundary}--\r\n".encode()
    answered = {"categorize": 0, "photo search": 0}
    for _ in range(rounds):
        status, _ = _request(port, "POST", "/api/categorize", json.dumps({"name": "Roadster Men Navy Jeans"}),
                             {**headers, "Content-Type": "application/json"})
        answered["categorize"] += status == 200
        status, _ = _request(port, "POST", "/search/photo/", body,
                             {**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
        answered["photo search"] += status == 200
    return answered


def _ms(value, unit):
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output):
    """Throughput, latency percentiles, errors and timeouts from `wrk --latency` output."""
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
              "requests": int(re.search(r"(\d+) requests in", output).group(1))}
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        result[f"p{pct}_ms"] = round(_ms(*match.groups()), 1) if match else None
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counts = [int(n) for n in socket_errors.groups()] if socket_errors else [0, 0, 0, 0]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["errors"] = sum(counts[:3]) + (int(non_2xx.group(1)) if non_2xx else 0)
    result["timeouts"] = counts[3]
    return result


def run_wrk(port, paths, cookie, connections, seconds):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(paths) + "\n")
    try:
        env = {**os.environ, "WRK_PATHS": handle.name, "WRK_COOKIE": cookie}
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", WRK_TIMEOUT,
             "-s", str(ROOT / "bench" / "spread.lua"), f"http://{HOST}:{port}"],
            env=env, capture_output=True, text=True, check=True)
    finally:
        os.unlink(handle.name)
    return parse_wrk(out.stdout)


def _smaps(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) / 1024  # kB -> MB
    return {"rss_mb": round(fields["Rss"], 1), "private_dirty_mb": round(fields["Private_Dirty"], 1),
            "pss_mb": round(fields["Pss"], 1)}


def memory(master_pid):
    """smaps_rollup of the gunicorn master and each worker, and the tier's total PSS."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    workers = [_smaps(int(pid)) for pid in children]
    master = _smaps(master_pid)
    return {"master": master, "workers": workers,
            "total_pss_mb": round(master["pss_mb"] + sum(w["pss_mb"] for w in workers), 1),
            "max_worker_private_dirty_mb": max((w["private_dirty_mb"] for w in workers), default=0)}


def wait_until_up(port, process, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            if _request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("gunicorn did not answer /healthz in time")


def spreads():
    import django

    django.setup()
    from bench import spread

    products = spread.product_urls(2000)
    return products, {
        "healthz (ceiling)": ["/healthz"],
        "product page": products,
        "filtered listing": spread.listing_urls(240),
        "category page": spread.category_urls(),
        "search": spread.search_urls(),
        "home": ["/"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fs_serving"))
    parser.add_argument("--connections", default="32")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--soak-seconds", type=int, default=60, help="128 connections over every URL; 0 skips")
    parser.add_argument("--only", help="regex of scenario names to run (the ceiling always runs)")
    parser.add_argument("--no-setup", action="store_true")
    parser.add_argument("--ports", default="8100-8199", help="where gunicorn may listen (first free)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out" / "load.json"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `make system-deps`")

    env = {**os.environ, "DATABASE_URL": args.database_url, "DEBUG": "False",
           "ALLOWED_HOSTS": HOST, "LOG_LEVEL": "WARNING",
           "MODELS_DIR": os.environ.get("MODELS_DIR", str(ROOT / "models"))}
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DEBUG", "MODELS_DIR")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fashionshop.settings")
    if args.database_url.startswith("postgres"):
        name = args.database_url.rsplit("/", 1)[1]
        subprocess.run(["createdb", "-h", HOST, "-U", "postgres", name], capture_output=True)
    if not args.no_setup:
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "import_catalog", "--styles", "data/styles.csv", "--images", "data/images", "data/images_small",
               "-v0")
        manage(env, "create_demo_accounts")
        manage(env, "simulate_shoppers", "--if-empty")
        manage(env, "train_models", "--if-missing")
        manage(env, "collectstatic", "--noinput", "-v0")
    products, scenarios = spreads()

    low, high = (int(n) for n in args.ports.split("-"))
    port = free_port(range(low, high + 1))
    gunicorn = subprocess.Popen(
        [str(Path(PYTHON).parent / "gunicorn"), "--config", "fashionshop/gunicorn.conf.py",
         "--bind", f"{HOST}:{port}", "--access-logfile", "/dev/null", "fashionshop.wsgi:application"],
        cwd=ROOT, env=env)
    report = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
              "scenarios": {}}
    try:
        wait_until_up(port, gunicorn)
        report["memory_started"] = memory(gunicorn.pid)
        report["models_answered"] = exercise_models(port)
        print(f"models answered: {report['models_answered']}", flush=True)
        report["memory_models_warm"] = memory(gunicorn.pid)
        shoppers = {"anonymous": anonymous_cookie(port, products[0]), "signed-in": signed_in_cookie(port)}
        pattern = re.compile(args.only) if args.only else None
        for name, paths in scenarios.items():
            if pattern and not pattern.search(name) and "ceiling" not in name:
                continue
            for shopper, cookie in shoppers.items():
                if "ceiling" in name and shopper != "anonymous":
                    continue
                run_wrk(port, paths, cookie, 8, 3)  # warm every worker's models and code paths
                for connections in (int(c) for c in args.connections.split(",")):
                    load = os.getloadavg()[0]
                    result = run_wrk(port, paths, cookie, connections, args.seconds)
                    result.update(load_average=round(load, 2), connections=connections,
                                  memory=memory(gunicorn.pid))
                    report["scenarios"].setdefault(f"{name} | {shopper}", []).append(result)
                    print(f"{name:18} {shopper:9} c={connections:<3} {result['rps']:7.1f} req/s  "
                          f"p50 {result['p50_ms']} ms  p99 {result['p99_ms']} ms  errors "
                          f"{result['errors']}  timeouts {result['timeouts']}  load {load:.1f}  "
                          f"worker private dirty ≤ {result['memory']['max_worker_private_dirty_mb']} MB  "
                          f"tier PSS {result['memory']['total_pss_mb']} MB", flush=True)
        if args.soak_seconds:
            every = [path for name, paths in scenarios.items() if "ceiling" not in name for path in paths]
            load = os.getloadavg()[0]
            soak = run_wrk(port, every, shoppers["signed-in"], 128, args.soak_seconds)
            soak.update(load_average=round(load, 2), memory=memory(gunicorn.pid))
            report["soak_128"] = soak
            print(f"soak c=128 {args.soak_seconds}s: {soak['rps']:.1f} req/s  p99 {soak['p99_ms']} ms  "
                  f"errors {soak['errors']}  timeouts {soak['timeouts']}  load {load:.1f}")
    finally:
        gunicorn.terminate()
        try:
            gunicorn.wait(timeout=60)
        except subprocess.TimeoutExpired:  # workers still finishing queued requests
            gunicorn.kill()
            gunicorn.wait()

    ceiling = report["scenarios"].get("healthz (ceiling) | anonymous", [{}])[0].get("rps")
    print("\n| scenario | shopper | c | req/s | ratio to /healthz | p50 ms | p99 ms | errors | "
          "timeouts | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, runs in report["scenarios"].items():
        name, shopper = key.split(" | ")
        for r in runs:
            ratio = f"{r['rps'] / ceiling:.2f}" if ceiling else "-"
            print(f"| {name} | {shopper} | {r['connections']} | {r['rps']:.0f} | {ratio} | {r['p50_ms']} | "
                  f"{r['p99_ms']} | {r['errors']} | {r['timeouts']} | {r['load_average']} |")
    print("\nmemory (MB) with every model warm, before the load: "
          f"tier PSS {report['memory_models_warm']['total_pss_mb']}, largest worker private dirty "
          f"{report['memory_models_warm']['max_worker_private_dirty_mb']}")
    final = report.get("soak_128", {}).get("memory") or report["memory_models_warm"]
    print("\nmemory (MB) after the run: master " + json.dumps(final["master"]))
    for i, worker in enumerate(final["workers"]):
        print(f"  worker {i}: {json.dumps(worker)}")
    print(f"  web tier PSS {final['total_pss_mb']} MB; largest worker private dirty "
          f"{final['max_worker_private_dirty_mb']} MB")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
