from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from accounts.urls import urlpatterns as account_urlpatterns
from cart.urls import buyer_order_urlpatterns
from fashionshop.health import healthz

handler400 = "fashionshop.errors.bad_request"
handler403 = "fashionshop.errors.permission_denied"
handler404 = "fashionshop.errors.page_not_found"
handler500 = "fashionshop.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # One "accounts" namespace: the account pages, and the buyer's orders that cart/ serves.
    path("accounts/", include((account_urlpatterns + buyer_order_urlpatterns, "accounts"))),
    path("sell/", include("seller_accounts.urls")),
    path("api/", include("seller_accounts.api_urls")),
    path("cart/", include("cart.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("search/", include("search.urls")),
    path("", include("experiments.urls")),
    path("", include("main.urls")),
]

if settings.SERVE_MEDIA:
    # Development and single-machine installs; in production nginx serves /media/.
    from django.urls import re_path
    from django.views.static import serve

    def media(request, path):
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns.append(re_path(r"^media/(?P<path>.+)$", media))
