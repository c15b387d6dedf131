from django.urls import path

from . import views

app_name = "crisis"

urlpatterns = [
    path("", views.get_help, name="help"),
]
