"""Search quality and cold speed on the query set of `evaluate_models --search`.

    .venv/bin/python bench/search.py [--database-url URL] [--write-docs]

For every query in search/data/queries.csv: precision of page 1 judged by the
catalog's labels, whether the page is empty while relevant products exist, the
server time of `/search/?q=…` (facets, understanding and rendering included) and
of the suggestions for each prefix the shopper types, each request made with
the page caches empty (bench/spread.py) (in-process test client, DEBUG off, models warm).
The baseline is the cold `/healthz` in the same run.
"""
import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cold_ms(client, url, cpu=None):
    """Wall milliseconds of one request with the page caches empty; its CPU milliseconds
    in this process (the database's own work aside) are appended to `cpu`."""
    from bench.spread import clear_page_caches

    clear_page_caches()
    started, started_cpu = time.perf_counter(), time.process_time()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if cpu is not None:
        cpu.append((time.process_time() - started_cpu) * 1000)
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def measure():
    from django.db import connection
    from django.test import Client

    from bench.report import percentiles
    from main.models import Product
    from search import evaluation
    from search.selectors import vocabulary

    load = os.getloadavg()[0]
    client = Client()
    vocabulary()  # the per-process vocabulary, like a warm worker's
    queries = evaluation.read_queries()
    _cold_ms(client, "/search/?q=warm+up")
    cpu = {"healthz": [], "search": [], "suggestions": []}
    baseline = [_cold_ms(client, "/healthz", cpu["healthz"]) for _ in range(30)]
    rows = [{**evaluation.judge(query, relevant), "split": split} for query, split, relevant in queries]
    pages = [_cold_ms(client, "/search/?" + urlencode({"q": query}), cpu["search"]) for query, _, _ in queries]
    prefixes = sorted({query[:n] for query, _, _ in queries for n in range(2, len(query) + 1, 3)})
    suggestions = [_cold_ms(client, "/search/suggestions/?" + urlencode({"q": p}), cpu["suggestions"])
                   for p in prefixes]
    summary = {split: evaluation.summarize([r for r in rows if r["split"] == split])
               for split in ("validation", "test")}
    summary["all"] = evaluation.summarize(rows)
    return {
        "database": connection.vendor,
        "products": Product.objects.active().count(),
        "summary": summary,
        "healthz": percentiles(baseline),
        "search": percentiles(pages),
        "suggestions": percentiles(suggestions),
        "suggestion_requests": len(prefixes),
        "cpu": {name: percentiles(samples) for name, samples in cpu.items()},
        "load": load,
        "worst": sorted((r for r in rows if r["precision"] is not None), key=lambda r: r["precision"])[:3],
    }


def report(result):
    lines = [f"{result['database']}, {result['products']:,} active products:", "",
             "| queries | mean precision@24 | empty pages |", "|---|---|---|"]
    for split, s in result["summary"].items():
        lines.append(f"| {split} ({s['queries']}) | {s['mean_precision']:.3f} | {s['empty_pages']} |")
    base = result["healthz"]["p50"]
    lines += ["", f"Load average at the start: {result['load']:.1f} on 2 cores.", "",
              "| cold request | p50 ms | p99 ms | ratio to /healthz p50 | CPU p50 ms in the web process |",
              "|---|---|---|---|---|"]
    for name, label in (("healthz", "/healthz (baseline)"),
                        ("search", "/search/?q=… (understanding, facets, page)"),
                        ("suggestions", f"/search/suggestions/ ({result['suggestion_requests']} prefixes)")):
        p = result[name]
        lines.append(f"| {label} | {p['p50']:.1f} | {p['p99']:.1f} | {p['p50'] / base:.1f} | "
                     f"{result['cpu'][name]['p50']:.1f} |")
    worst = ", ".join(f"{r['query']} {r['precision']:.2f}" for r in result["worst"] if r["precision"] < 1)
    lines += ["", f"Lowest precision: {worst}." if worst else "Every query scored 1.00."]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--write-docs", action="store_true",
                        help="replace this database's section of docs/benchmarks.md")
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    os.environ.update({"DEBUG": "False", "LOG_LEVEL": "ERROR", "ALLOWED_HOSTS": "testserver",
                       "DJANGO_SETTINGS_MODULE": "fashionshop.settings"})
    import django

    django.setup()
    result = measure()
    body = report(result)
    print(body)
    if args.write_docs:
        from bench.report import write_section

        name = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}.get(result["database"], result["database"])
        write_section(ROOT / "docs" / "benchmarks.md", f"## Search on {name}",
                      f"`.venv/bin/python bench/search.py --write-docs` — {time.strftime('%Y-%m-%d')}, "
                      "models warm, page caches empty before every request (docs/search.md).\n\n"
                      + body)


if __name__ == "__main__":
    main()
