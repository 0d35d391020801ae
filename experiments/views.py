from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from experiments import selectors, services
from experiments.models import Impression


@require_GET
@never_cache
def click(request, token):
    """Count a followed recommendation and open its product.

    The target is always the product page of the impression's sku, never a URL taken
    from the request, so the link cannot be turned into an open redirect. A GET, so the
    link works as a plain <a href> with no form and no CSRF token.
    """
    impression = selectors.impression_for_token(token)
    if impression is None:
        raise Http404("Unknown recommendation link.")
    services.record_click(impression)
    return redirect(reverse("main:product_detail", args=[impression.sku]))


@staff_member_required
def results(request):
    surface = request.GET.get("surface", "")
    if surface not in Impression.Surface.values:
        surface = ""
    return render(request, "experiments/results.html", {
        "section": "experiments",
        "experiments": selectors.experiment_results(surface=surface),
        "surfaces": Impression.Surface.choices,
        "surface": surface,
    })
