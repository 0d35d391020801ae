"""Chart.js configurations (plain JSON data) built from the selectors' reports.

Templates pass each one through `json_script`; static/dashboards/charts.js hands it
to Chart.js unchanged. Decimals become floats here because JSON has no decimals.
"""


def _number(value):
    return float(value) if value is not None else None


def _label(day, period):
    return f"Week of {day.isoformat()}" if period == "week" else day.isoformat()


def line(labels, datasets, stacked=False, y_title=""):
    scales = {"y": {"beginAtZero": True, "stacked": stacked, "title": {"display": bool(y_title), "text": y_title}},
              "x": {"stacked": stacked}}
    return {"type": "bar" if stacked else "line", "data": {"labels": labels, "datasets": datasets},
            "options": {"responsive": True, "maintainAspectRatio": False, "scales": scales,
                        "interaction": {"mode": "index", "intersect": False}}}


def bars(labels, values, label, horizontal=True, max_value=None):
    axis = {"beginAtZero": True}
    if max_value is not None:
        axis["max"] = max_value
    return {"type": "bar",
            "data": {"labels": labels, "datasets": [{"label": label, "data": [_number(v) for v in values]}]},
            "options": {"indexAxis": "y" if horizontal else "x", "responsive": True,
                        "maintainAspectRatio": False, "plugins": {"legend": {"display": False}},
                        "scales": {"x" if horizontal else "y": axis}}}


def doughnut(labels, values):
    return {"type": "doughnut",
            "data": {"labels": labels, "datasets": [{"data": [_number(v) for v in values]}]},
            "options": {"responsive": True, "maintainAspectRatio": False}}


def sales_charts(report):
    labels = [_label(row["period"], report["period"]) for row in report["series"]]
    charts = {
        "revenue": line(labels, [
            {"label": "Revenue", "data": [_number(row["revenue"]) for row in report["series"]], "yAxisID": "y"},
        ], y_title="Revenue"),
        "orders": line(labels, [
            {"label": "Orders", "data": [row["orders"] for row in report["series"]]},
            {"label": "Units", "data": [row["units"] for row in report["series"]]},
        ]),
        "by_article_type": bars([r["group"] for r in report["by_article_type"]],
                                [r["revenue"] for r in report["by_article_type"]], "Revenue"),
    }
    if "by_gender_over_time" in report:
        charts["by_gender_over_time"] = line(labels, [
            {"label": group, "data": [_number(v) for v in values]}
            for group, values in report["by_gender_over_time"].items()
        ], stacked=True, y_title="Revenue")
        charts["by_gender"] = doughnut([r["group"] for r in report["by_gender"]],
                                       [r["revenue"] for r in report["by_gender"]])
        charts["by_sub_category"] = bars([r["group"] for r in report["by_sub_category"]],
                                         [r["revenue"] for r in report["by_sub_category"]], "Revenue")
    if "top_products" in report:
        charts["top_products"] = bars([r["name"] for r in report["top_products"]],
                                      [r["revenue"] for r in report["top_products"]], "Revenue")
    return charts


def catalog_charts(report):
    stock = report["stock"]
    return {
        "by_gender": doughnut([r["gender"] for r in report["by_gender"]],
                              [r["products"] for r in report["by_gender"]]),
        "by_master": doughnut([r["master_category"] for r in report["by_master"]],
                              [r["products"] for r in report["by_master"]]),
        "by_sub_category": bars([f"{r['master_category']} › {r['sub_category']}" for r in report["by_category"]],
                                [r["products"] for r in report["by_category"]], "Products"),
        "stock": doughnut(["In stock", f"Low (≤ {report['low_stock_threshold']})", "Sold out"],
                          [stock["in_stock"], stock["low"], stock["sold_out"]]),
        "stock_by_master": line(
            [r["master_category"] for r in report["by_master"]],
            [{"label": "In stock", "data": [r["products"] - r["low"] - r["sold_out"] for r in report["by_master"]]},
             {"label": "Low", "data": [r["low"] for r in report["by_master"]]},
             {"label": "Sold out", "data": [r["sold_out"] for r in report["by_master"]]}],
            stacked=True, y_title="Products"),
    }


def report_charts(reports):
    """One bar chart per evaluated report, of its headline metrics that are rates in [0, 1]."""
    charts = {}
    for report in reports:
        rates = [(name, value) for name, value in report["key_metrics"] if 0 <= value <= 1]
        if rates:
            charts[report["name"]] = bars([n for n, _ in rates], [v for _, v in rates], "Score", max_value=1)
    return charts
