from django.urls import path

from . import views

app_name = "sessions"

urlpatterns = [
    path("<int:appointment_id>/", views.join, name="join"),
    path("<int:appointment_id>/check/", views.check, name="check"),
    path("<int:appointment_id>/admit/", views.admit, name="admit"),
    path("<int:appointment_id>/message/", views.message, name="message"),
    path("<int:appointment_id>/end/", views.end, name="end"),
]
