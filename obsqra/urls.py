from django.contrib import admin
from django.urls import include, path

from .api import api
from .health import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("health", health, name="health"),
    path("proofs/", include("proofs.urls")),
    path("models/", include("registry.urls")),
    path("", include("allocations.urls")),
]

handler400 = "obsqra.error_pages.bad_request"
handler403 = "obsqra.error_pages.permission_denied"
handler404 = "obsqra.error_pages.page_not_found"
handler500 = "obsqra.error_pages.server_error"
