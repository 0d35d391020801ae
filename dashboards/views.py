"""Staff and seller dashboards: thin views over dashboards.selectors and dashboards.charts."""
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dashboards import charts, selectors, services
from dashboards.forms import SalesFilterForm
from experiments import selectors as experiment_selectors
from seller_accounts.permissions import seller_required


def _date_range(request):
    form = SalesFilterForm(request.GET or None)
    start, end, period = form.date_range()
    for note in form.notes:
        messages.info(request, note)
    if form.is_bound and not form.is_valid():
        messages.warning(request, "That date range was ignored: "
                         + " ".join(e for errors in form.errors.values() for e in errors)
                         + " Showing the last 30 days.")
        form = SalesFilterForm(initial={"start": start, "end": end, "period": period})
    return form, start, end, period


@staff_member_required
def index(request):
    return redirect("dashboards:sales")


@staff_member_required
def sales(request):
    form, start, end, period = _date_range(request)
    report = selectors.sales_report(start, end, period)
    return render(request, "dashboards/sales.html", {
        "section": "sales", "form": form, "start": start, "end": end, "period": period,
        "report": report, "charts": charts.sales_charts(report),
    })


@staff_member_required
def catalog(request):
    report = selectors.catalog_report()
    return render(request, "dashboards/catalog.html", {
        "section": "catalog", "report": report, "charts": charts.catalog_charts(report),
    })


@staff_member_required
def model_health(request):
    reports = selectors.evaluation_reports()
    return render(request, "dashboards/models.html", {
        "section": "models", "reports": reports, "served": selectors.served_versions(),
        "images": selectors.report_images(), "charts": charts.report_charts(reports),
        "overrides": experiment_selectors.suggestion_override_rates(),
        "click_through": experiment_selectors.click_through_by_surface(),
    })


@staff_member_required
def report_image(request, filename):
    path = selectors.report_image_path(filename)
    if path is None:
        raise Http404("No such figure.")
    return FileResponse(path.open("rb"), content_type="image/png")


@staff_member_required
def registry(request):
    return render(request, "dashboards/registry.html", {
        "section": "registry", "registry": selectors.model_registry(),
    })


@staff_member_required
@require_POST
def serve_version(request):
    name, version = request.POST.get("name", ""), request.POST.get("version", "")
    return _staff_write(request, lambda: services.serve_version(name, version, request.user),
                        lambda _: f"{name} now serves version {version}.", "dashboards:registry")


def _staff_write(request, write, done, back):
    """Run a staff page's write: its refusal, or `done(result)`, becomes the message."""
    try:
        result = write()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done(result))
    return redirect(back)


@seller_required
def seller_sales(request):
    form, start, end, period = _date_range(request)
    report = selectors.sales_report(start, end, period, seller=request.seller)
    return render(request, "dashboards/seller_sales.html", {
        "seller": request.seller, "form": form, "start": start, "end": end, "period": period,
        "report": report, "charts": charts.sales_charts(report),
    })


@staff_member_required
def mislabels(request):
    return render(request, "dashboards/mislabels.html", {
        "section": "mislabels", "mislabels": selectors.likely_mislabels(),
    })


@staff_member_required
@require_POST
def accept_mislabel(request):
    sku, field = request.POST.get("sku", ""), request.POST.get("field", "")
    return _staff_write(request, lambda: services.accept_mislabel_correction(sku, field, request.user),
                        lambda product: f"{product.name}: {field} corrected.", "dashboards:mislabels")
