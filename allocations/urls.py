from django.urls import path

from . import views

app_name = "allocations"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("decisions/<int:decision_id>/", views.decision_detail, name="decision"),
]
