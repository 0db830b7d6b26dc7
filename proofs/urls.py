from django.urls import path

from . import views

app_name = "proofs"

urlpatterns = [
    path("", views.proof_list, name="list"),
    path("<uuid:job_id>/", views.proof_detail, name="detail"),
    path("<uuid:job_id>/badge", views.proof_badge, name="badge"),
    path("<uuid:job_id>/download/proof", views.download_proof, name="download-proof"),
    path("<uuid:job_id>/download/public-inputs", views.download_public_inputs, name="download-public-inputs"),
    path("<uuid:job_id>/download/bundle", views.download_bundle, name="download-bundle"),
    path("<uuid:job_id>/download/cairo-pie", views.download_cairo_pie, name="download-cairo-pie"),
]
