from django.urls import path

from experiments import views

app_name = "experiments"

urlpatterns = [
    path("r/<str:token>/", views.click, name="click"),
    path("experiments/", views.results, name="results"),
]
