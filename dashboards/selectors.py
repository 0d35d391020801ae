"""Reads behind the dashboards: sales and catalog aggregates, model cards and reports.

Sales are order lines that still count: neither cancelled nor refunded, dated by
their order's creation in the shop's time zone. A line whose product was deleted
keeps its price snapshot but has no taxonomy any more, so its revenue is shown
under DELETED_LISTING rather than dropped, and totals stay equal to the sum of the
breakdowns.
"""
import json
import logging
import math
import re
from datetime import datetime, time, timedelta

from django.db.models import Count, DecimalField, F, Max, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from cart.models import OrderItem
from dashboards.periods import local_period
from main.models import Product
from seller_accounts.selectors import LOW_STOCK_THRESHOLD
from shop_ml import facade

log = logging.getLogger(__name__)

DELETED_LISTING = "(deleted listing)"
OTHER = "Other"
TOP_GROUPS = 12
TOP_PRODUCTS = 10
REVENUE = Sum(F("unit_price") * F("quantity"), output_field=DecimalField(max_digits=14, decimal_places=2))
BREAKDOWN_FIELDS = ("gender", "sub_category", "article_type")

REPORTS_DIR = "reports"
REPORTS = (
    ("categorization", "Category suggestions"),
    ("images", "Photo search"),
    ("recommendations", "Recommendations"),
    ("fusion", "Name + photo categorization"),
)
# The metrics worth a headline; everything else numeric is listed below them.
KEY_METRIC = re.compile(r"acc|f1|precision|p@|ndcg|recall|hit|mrr|map@|coverage", re.IGNORECASE)
MAX_REPORT_BYTES = 5 * 1024 * 1024
MAX_METRICS = 300
PNG_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.png$")


# Sales ---------------------------------------------------------------------

def _bounds(start, end):
    """Aware datetimes of [start 00:00, end+1 00:00) in the current time zone, so the
    filter compares the indexed column directly instead of a per-row date cast."""
    tz = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=tz),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))


def sold_lines(start, end, seller=None):
    low, high = _bounds(start, end)
    lines = OrderItem.objects.filter(order__created_at__gte=low, order__created_at__lt=high).exclude(
        Q(fulfilment_status=OrderItem.Fulfilment.CANCELLED) | Q(payment_status=OrderItem.Payment.REFUNDED)
    )
    return lines if seller is None else lines.filter(seller=seller)


def period_starts(start, end, period):
    """Every bucket between start and end, so days without sales show as zero."""
    current = start - timedelta(days=start.weekday()) if period == "week" else start
    step = timedelta(days=7 if period == "week" else 1)
    starts = []
    while current <= end:
        starts.append(current)
        current += step
    return starts


def _bucket(lines, start, end, period):
    return local_period(lines, "order__created_at", period, *_bounds(start, end))


def _taxonomy(field):
    return Coalesce(f"product__{field}", Value(DELETED_LISTING))


def sales_over_time(lines, start, end, period):
    """[{"period", "revenue", "units", "orders"}] for every bucket, zeros included."""
    rows = {
        row["period"]: row
        for row in lines.annotate(period=_bucket(lines, start, end, period)).values("period").order_by()
        .annotate(revenue=REVENUE, units=Sum("quantity"), orders=Count("order", distinct=True))
    }
    empty = {"revenue": 0, "units": 0, "orders": 0}
    return [{**empty, **rows.get(day, {}), "period": day} for day in period_starts(start, end, period)]


def sales_by_over_time(lines, field, start, end, period):
    """{group: [revenue per bucket]} of one taxonomy field, groups by total revenue."""
    starts = period_starts(start, end, period)
    position = {day: i for i, day in enumerate(starts)}
    series = {}
    for row in (lines.annotate(period=_bucket(lines, start, end, period), group=_taxonomy(field))
                .values("period", "group").order_by().annotate(revenue=REVENUE)):
        values = series.setdefault(row["group"], [0] * len(starts))
        values[position[row["period"]]] += row["revenue"]
    return dict(sorted(series.items(), key=lambda item: (-sum(item[1]), item[0])))


def fold_top(totals, top=TOP_GROUPS):
    """[{"group", "revenue", "units"}] largest first, the smallest folded into OTHER."""
    rows = sorted(({"group": group, **values} for group, values in totals.items()),
                  key=lambda row: (-row["revenue"], row["group"]))
    if len(rows) > top:
        rest = rows[top - 1:]
        rows = rows[:top - 1] + [{"group": OTHER, "revenue": sum(r["revenue"] for r in rest),
                                  "units": sum(r["units"] for r in rest)}]
    return rows


def sales_by_taxonomy(lines, fields=BREAKDOWN_FIELDS):
    """{field: fold_top rows} for each taxonomy field, from one grouped query, so the
    join to the product table (the costly part) is made once for all breakdowns."""
    totals = {field: {} for field in fields}
    for row in (lines.annotate(**{f"t_{field}": _taxonomy(field) for field in fields})
                .values(*(f"t_{field}" for field in fields)).order_by()
                .annotate(revenue=REVENUE, units=Sum("quantity"))):
        for field in fields:
            group = totals[field].setdefault(row[f"t_{field}"], {"revenue": 0, "units": 0})
            group["revenue"] += row["revenue"]
            group["units"] += row["units"]
    return {field: fold_top(groups) for field, groups in totals.items()}


def sales_totals(series):
    revenue = sum(row["revenue"] for row in series)
    orders = sum(row["orders"] for row in series)
    return {"revenue": revenue, "orders": orders, "units": sum(row["units"] for row in series),
            "average_order": revenue / orders if orders else None}


def top_products(lines, limit=TOP_PRODUCTS):
    """The best-selling skus by revenue, named by their latest snapshot."""
    return list(lines.values("sku").order_by()
                .annotate(name=Max("product_name"), revenue=REVENUE, units=Sum("quantity"))
                .order_by("-revenue", "sku")[:limit])


def sales_report(start, end, period, seller=None):
    lines = sold_lines(start, end, seller)
    series = sales_over_time(lines, start, end, period)
    report = {"period": period, "series": series, "totals": sales_totals(series)}
    if seller is None:
        report["by_gender_over_time"] = sales_by_over_time(lines, "gender", start, end, period)
        breakdowns = sales_by_taxonomy(lines)
    else:
        report["top_products"] = top_products(lines)
        breakdowns = sales_by_taxonomy(lines, ("article_type",))
    report.update({f"by_{field}": rows for field, rows in breakdowns.items()})
    return report


# Catalog -------------------------------------------------------------------

def catalog_report():
    """Listed (active) products by gender and category, and their stock health.

    One grouped scan of the product table; every breakdown is summed from its rows.
    """
    active = Q(is_active=True)
    rows = list(
        Product.objects.values("gender", "master_category", "sub_category").order_by()
        .annotate(products=Count("id", filter=active),
                  sold_out=Count("id", filter=active & Q(stock=0)),
                  low=Count("id", filter=active & Q(stock__gt=0, stock__lte=LOW_STOCK_THRESHOLD)),
                  inactive=Count("id", filter=~active))
    )
    counts = ("products", "sold_out", "low")

    def total(keys):
        groups = {}
        for row in rows:
            if row["products"]:
                group = groups.setdefault(tuple(row[k] for k in keys),
                                          {**{k: row[k] for k in keys}, **dict.fromkeys(counts, 0)})
                for count in counts:
                    group[count] += row[count]
        return list(groups.values())

    by_gender = sorted(total(["gender"]), key=lambda r: (-r["products"], r["gender"]))
    by_master = sorted(total(["master_category"]), key=lambda r: (-r["products"], r["master_category"]))
    by_category = sorted(total(["master_category", "sub_category"]),
                         key=lambda r: (r["master_category"], -r["products"], r["sub_category"]))
    stock = {count: sum(row[count] for row in by_master) for count in counts}
    stock["in_stock"] = stock["products"] - stock["sold_out"] - stock["low"]
    return {
        "by_gender": [{"gender": r["gender"], "products": r["products"]} for r in by_gender],
        "by_category": by_category, "by_master": by_master, "stock": stock,
        "inactive": sum(row["inactive"] for row in rows), "low_stock_threshold": LOW_STOCK_THRESHOLD,
    }


# Models --------------------------------------------------------------------

def reports_dir():
    return facade.models_dir() / REPORTS_DIR


def flatten_metrics(tree, path=()):
    """[(name, value)] of the finite numbers in nested dicts, named "outer › inner".

    Lists (per-class arrays, confusion matrices) and text are skipped: reports are
    written by others and may hold anything.
    """
    found = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            found.extend(flatten_metrics(value, (*path, str(key))))
    elif isinstance(tree, (int, float)) and not isinstance(tree, bool) and math.isfinite(tree):
        found.append((" › ".join(path), tree))
    return found[:MAX_METRICS]


def split_metrics(metrics):
    key = [(name, value) for name, value in metrics if KEY_METRIC.search(name)]
    return key, [(name, value) for name, value in metrics if not KEY_METRIC.search(name)]


def read_report(name):
    """One evaluation report: status "missing", "unreadable" or "ok", with its metrics."""
    title = dict(REPORTS).get(name, name)
    path = reports_dir() / f"{name}.json"
    report = {"name": name, "title": title, "status": "missing", "key_metrics": [], "other_metrics": []}
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise ValueError(f"larger than {MAX_REPORT_BYTES} bytes")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return report
    except (OSError, ValueError) as exc:
        log.warning("unreadable evaluation report %s: %s", path, exc)
        return {**report, "status": "unreadable", "error": str(exc)}
    if not isinstance(data, dict):
        return {**report, "status": "unreadable", "error": "not a JSON object"}
    key, other = split_metrics(flatten_metrics(data))
    evaluated = next((str(data[k]) for k in ("evaluated_at", "created_at", "date") if k in data), None)
    return {**report, "status": "ok", "key_metrics": key, "other_metrics": other, "evaluated_at": evaluated}


def evaluation_reports():
    return [read_report(name) for name, _ in REPORTS]


def report_images():
    """Names of the PNG figures (e.g. confusion matrices) beside the reports."""
    try:
        return sorted(p.name for p in reports_dir().iterdir() if p.is_file() and PNG_NAME.match(p.name))
    except OSError:
        return []


def report_image_path(filename):
    """The path of one report figure, or None for any name that is not a PNG in reports/."""
    if not PNG_NAME.match(filename or ""):
        return None
    path = reports_dir() / filename
    return path if path.is_file() else None


def artifact_names():
    try:
        return sorted(p.name for p in facade.models_dir().iterdir()
                      if p.is_dir() and not p.name.startswith(".") and p.name != REPORTS_DIR)
    except OSError:
        return []


def _created(card):
    raw = card.get("created_at")
    try:
        return datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return raw


def _data_summary(card):
    data = card.get("data", card.get("count"))
    if isinstance(data, dict):
        return ", ".join(f"{key}: {value}" for key, value in data.items()
                         if isinstance(value, (str, int, float)))
    return "" if data is None else str(data)


def version_summary(card, current):
    metrics = flatten_metrics(card.get("metrics", {}))
    key, other = split_metrics(metrics)
    return {
        "version": card["version"], "created_at": _created(card), "data": _data_summary(card),
        "key_metrics": (key or other)[:8], "is_current": card["version"] == current,
    }


def model_registry():
    """Every artifact with its versions (newest first) and the one being served."""
    registry = []
    for name in artifact_names():
        current, cards = facade.model_versions(name)
        versions = [version_summary(card, current) for card in cards
                    if isinstance(card, dict) and isinstance(card.get("version"), str)]
        registry.append({
            "name": name, "current": current, "versions": versions,
            "current_missing": current is not None and not any(v["is_current"] for v in versions),
        })
    return registry


def served_versions():
    """The registry reduced to the served version of each artifact (for the health page)."""
    served = []
    for entry in model_registry():
        version = next((v for v in entry["versions"] if v["is_current"]), None)
        served.append({"name": entry["name"], "version": version})
    return served


# Likely mislabels -----------------------------------------------------------
# `manage.py find_mislabels` writes the list (shop_ml/management/fusion.py); the page
# shows the entries whose product still carries the label that was contradicted.
MISLABELS_REPORT = "mislabels"
MISLABELS_SHOWN = 100
# The models' field names -> Product fields.
CATALOG_FIELDS = {"gender": "gender", "masterCategory": "master_category",
                  "subCategory": "sub_category", "articleType": "article_type",
                  "baseColour": "base_colour", "usage": "usage"}


def _mislabel_items():
    """(report dict or None, why it is missing or unreadable)."""
    path = reports_dir() / f"{MISLABELS_REPORT}.json"
    try:
        if path.stat().st_size > MAX_REPORT_BYTES * 4:
            raise ValueError("the report is too large")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, "missing"
    except (OSError, ValueError) as exc:
        log.warning("unreadable mislabel report %s: %s", path, exc)
        return None, "unreadable"
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        log.warning("unreadable mislabel report %s: not a mislabel report", path)
        return None, "unreadable"
    return data, ""


def _well_formed(item):
    return (isinstance(item, dict) and isinstance(item.get("sku"), str)
            and item.get("field") in CATALOG_FIELDS and isinstance(item.get("stored"), str)
            and isinstance(item.get("changes"), dict)
            and all(k in CATALOG_FIELDS and isinstance(v, str) for k, v in item["changes"].items()))


def likely_mislabels(limit=MISLABELS_SHOWN):
    """{"status", "report" (its summary), "items": [{..., "product"}]}: the open entries,
    surest first, each with its product; entries already corrected are left out."""
    data, status = _mislabel_items()
    if data is None:
        return {"status": status, "items": []}
    items = [item for item in data["items"] if _well_formed(item)]
    products = Product.objects.in_bulk([item["sku"] for item in items], field_name="sku")
    open_items = []
    for item in items:
        product = products.get(item["sku"])
        if product is None or getattr(product, CATALOG_FIELDS[item["field"]]) != item["stored"]:
            continue
        open_items.append({**item, "product": product})
    summary = {k: data.get(k) for k in ("evaluated_at", "threshold", "products", "with_photo",
                                        "count")}
    return {"status": "ok", "report": summary, "open": len(open_items),
            "items": open_items[:limit]}


def mislabel_entry(sku, field):
    """The report's entry for (sku, field), or None."""
    data, _ = _mislabel_items()
    if data is None:
        return None
    return next((item for item in data["items"] if _well_formed(item)
                 and item["sku"] == sku and item["field"] == field), None)
