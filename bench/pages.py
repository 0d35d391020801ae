"""Cold single-request page times, in-process, and how they grow with the catalog.

    .venv/bin/python bench/pages.py [--database-url postgres://postgres@127.0.0.1:5432/fs_serving]
                                    [--growth-database fs_serving_5x] [--samples 40]

Each request is made with Django's test client (DEBUG off, models warm) twice
cold:

* "page caches empty" (the issue's definition): every rendered fragment of a
  page ({% cache %}) and every listing's facet counts are dropped first; what all
  pages share and only a catalog change renews (the taxonomy tree, the featured
  categories, the search vocabulary, the A/B test's settings) stays, as it does
  between two shoppers;
* "after a catalog change": `catalog_changed()` first as well, as a seller's
  edit does, so everything kept per catalog version is rebuilt by this request. Pages are drawn
from the same spreads as bench/load.py (bench/spread.py). Beside the wall time
it reports the Python process's CPU time per request, which other jobs on
shared cores disturb much less (the database's time is in the wall time only).

With --growth-database the catalog of --database-url is copied into that
scratch PostgreSQL database at 5× (new skus; the database is dropped and
recreated first) and the same pages are timed there; the report gives the
ratio 5× / 1×. Each database is measured in its own child process.
"""
import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"
GROWTH = 5


def _env(database_url):
    return {**os.environ, "DATABASE_URL": database_url, "DEBUG": "False", "LOG_LEVEL": "ERROR",
            "ALLOWED_HOSTS": "testserver", "DJANGO_SETTINGS_MODULE": "fashionshop.settings",
            "MODELS_DIR": os.environ.get("MODELS_DIR", str(ROOT / "models"))}


def _psql(database, sql):
    subprocess.run(["psql", "-h", HOST, "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1",
                    "-q", "-c", sql], check=True)


def grow_catalog(source_url, target, factor=GROWTH):
    """Recreate `target` as a copy of the source database with every product `factor` times."""
    source = source_url.rsplit("/", 1)[1]
    subprocess.run(["dropdb", "-h", HOST, "-U", "postgres", "--if-exists", target], check=True)
    subprocess.run(["createdb", "-h", HOST, "-U", "postgres", target], check=True)
    dump = subprocess.Popen(["pg_dump", "-h", HOST, "-U", "postgres", source], stdout=subprocess.PIPE)
    subprocess.run(["psql", "-h", HOST, "-U", "postgres", "-d", target, "-q", "-o", "/dev/null"],
                   stdin=dump.stdout, check=True)
    dump.wait()
    target_url = source_url.rsplit("/", 1)[0] + "/" + target
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                   env=_env(target_url), check=True)
    columns = subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-d", target, "-At", "-c",
         "SELECT column_name FROM information_schema.columns WHERE table_name = 'main_product' "
         "AND column_name NOT IN ('id', 'sku') AND is_generated = 'NEVER' ORDER BY ordinal_position"],
        capture_output=True, text=True, check=True).stdout.split()
    listed = ", ".join(f'"{c}"' for c in columns)
    for copy in range(1, factor):
        _psql(target, f"INSERT INTO main_product (sku, {listed}) "
                      f"SELECT sku || '-g{copy}', {listed} FROM main_product WHERE sku NOT LIKE '%-g%'")
    # The rows were copied around the services: recount what they maintain.
    subprocess.run([sys.executable, "manage.py", "recount_facets"], cwd=ROOT, env=_env(target_url), check=True)
    _psql(target, "VACUUM ANALYZE")
    return target_url


def measure(samples):
    """{page kind: {p50_ms, p90_ms, queries, n}} for cold requests (run in a child process)."""
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench import spread
    from main.facets import catalog_changed
    from main.models import Product

    pages = {
        "product": spread.product_urls(samples),
        "category": spread.category_urls()[:samples],
        "listing": spread.listing_urls(samples),
        "search": spread.search_urls(),
        "home": ["/"] * samples,
    }
    client = Client()
    for urls in pages.values():  # warm the models, templates and connections
        for url in urls[:3]:
            assert client.get(url).status_code == 200, url
    results = {"products": Product.objects.count()}
    for (kind, urls), after_change in itertools.product(pages.items(), (False, True)):
        times, cpu, queries = [], [], []
        for url in urls:
            spread.clear_page_caches()
            if after_change:
                catalog_changed()
            with CaptureQueriesContext(connection) as captured:
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            queries.append(len(captured))
        times.sort()
        results[f"{kind} after a catalog change" if after_change else kind] = {"p50_ms": round(statistics.median(times), 2),
                         "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2),
                         "cpu_p50_ms": round(statistics.median(cpu), 2),
                         "queries": statistics.median(queries), "n": len(times)}
    return results


def run_child(database_url, samples):
    out = subprocess.run([sys.executable, __file__, "--child", "--samples", str(samples)],
                         cwd=ROOT, env=_env(database_url), capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fs_serving"))
    parser.add_argument("--growth-database", help=f"scratch database to hold the catalog ×{GROWTH}")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.samples)))
        return

    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    runs = {"1x": run_child(args.database_url, args.samples)}
    if args.growth_database:
        grown = grow_catalog(args.database_url, args.growth_database)
        runs[f"{GROWTH}x"] = run_child(grown, args.samples)
    print(f"load average {os.getloadavg()[0]:.2f}")
    kinds = [k for k in runs["1x"] if k != "products"]
    header = "| page | " + " | ".join(f"{name} p50 ms (p90) | CPU ms | queries" for name in runs)
    print(header + (f" | ×{GROWTH} / ×1 |" if len(runs) > 1 else " |"))
    for kind in kinds:
        cells = " | ".join(f"{r[kind]['p50_ms']} ({r[kind]['p90_ms']}) | {r[kind].get('cpu_p50_ms', '-')} | "
                           f"{r[kind]['queries']:g}" for r in runs.values())
        ratio = (f" | ×{runs[f'{GROWTH}x'][kind]['p50_ms'] / runs['1x'][kind]['p50_ms']:.2f}"
                 if len(runs) > 1 else "")
        print(f"| {kind} | {cells}{ratio} |")
    print("products: " + ", ".join(f"{name} {r['products']}" for name, r in runs.items()))
    out = ROOT / "bench" / "out" / "pages.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
