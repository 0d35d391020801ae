"""`evaluate_models --search`: precision of page 1 on shopper queries, judged by labels.

Each query in search/data/queries.csv names the labels a relevant product carries
("girls dress" → gender Girls and article type Dresses). Precision is the share of
page 1 that is relevant, over the page size or over all relevant products where the
catalog has fewer. An empty page for a query that has relevant products is counted
on its own: it is the failure shoppers notice most.
"""
import csv
import json
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.db.models import Q

from main.models import Product
from main.selectors import PER_PAGE, ProductFilter
from search import selectors
from search.understanding import understand
from search.vocabulary import FIELDS

QUERIES_FILE = Path(__file__).resolve().parent / "data" / "queries.csv"


def read_queries(path=QUERIES_FILE):
    """[(query, split, {field: values})] from the query file."""
    queries = []
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            relevant = {}
            for part in row["relevant"].split(";"):
                name, _, values = part.partition("=")
                if name.strip() not in FIELDS:
                    raise ValueError(f"{path}: {row['query']!r} names unknown field {name!r}")
                relevant[name.strip()] = tuple(v.strip() for v in values.split("|"))
            queries.append((row["query"], row["split"], relevant))
    return queries


def _relevant_q(relevant):
    q = Q()
    for name, values in relevant.items():
        q &= Q(**{f"{name}__in": values})
    return q


def judge(query, relevant, k=PER_PAGE):
    """One query's figures: precision, relevant products in the catalog, page size, time."""
    started = time.perf_counter()
    results = selectors.search(understand(query), ProductFilter(text=query), per_page=k)
    skus = selectors.page_skus(results)
    milliseconds = (time.perf_counter() - started) * 1000
    wanted = _relevant_q(relevant)
    in_catalog = Product.objects.active().filter(wanted).count()
    hits = Product.objects.filter(wanted, sku__in=skus).count()
    return {
        "query": query,
        "relevant": {name: list(values) for name, values in relevant.items()},
        "precision": round(hits / min(k, in_catalog), 4) if in_catalog else None,
        "shown": len(skus),
        "relevant_in_catalog": in_catalog,
        "empty_page": not skus and in_catalog > 0,
        "corrected": results.understanding.corrected_query,
        "level": results.level,
        "milliseconds": round(milliseconds, 1),
    }


def summarize(rows):
    judged = [row for row in rows if row["precision"] is not None]
    return {
        "queries": len(rows),
        "mean_precision": round(statistics.mean(r["precision"] for r in judged), 4) if judged else None,
        "empty_pages": sum(r["empty_page"] for r in rows),
        "median_milliseconds": round(statistics.median(r["milliseconds"] for r in rows), 1) if rows else None,
    }


def evaluate(stdout=None, queries=None, **options):
    """Judge every query, print a line per query and the summary per split, and write
    MODELS_DIR/reports/search.json."""
    queries = read_queries() if queries is None else queries
    rows = [{**judge(query, relevant), "split": split} for query, split, relevant in queries]
    report = {split: summarize([r for r in rows if r["split"] == split])
              for split in sorted({r["split"] for r in rows})}
    report["all"] = summarize(rows)
    if stdout is not None:
        for row in rows:
            precision = "n/a" if row["precision"] is None else f"{row['precision']:.2f}"
            note = f" (as {row['corrected']!r})" if row["corrected"] else ""
            empty = "  EMPTY PAGE" if row["empty_page"] else ""
            stdout.write(f"{precision:>5}  {row['split']:<10} {row['query']}{note} "
                         f"[{row['level'] or 'nothing'}, {row['milliseconds']} ms]{empty}")
        for split, summary in report.items():
            stdout.write(f"{split}: mean precision@{PER_PAGE} {summary['mean_precision']}, "
                         f"{summary['empty_pages']} empty pages of {summary['queries']} queries, "
                         f"median {summary['median_milliseconds']} ms")
    folder = Path(settings.MODELS_DIR) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "search.json").write_text(json.dumps({"summary": report, "queries": rows}, indent=2))
    return report
