from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from fashionshop.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("sell/", include("seller_accounts.urls")),
    path("cart/", include("cart.urls")),
    path("", include("main.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
