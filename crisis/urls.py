from django.urls import path

from . import views

app_name = "crisis"

urlpatterns = [
    path("", views.get_help, name="help"),
    path("panic/", views.panic, name="panic"),
    path("panel/", views.panel, name="panel"),
    path("alerts/", views.alerts, name="alerts"),
    path("events/<int:event_id>/", views.event_detail, name="event"),
    path("events/<int:event_id>/acknowledge/", views.event_acknowledge, name="acknowledge"),
    path("events/<int:event_id>/follow-up/", views.event_follow_up, name="follow_up"),
    path("report/", views.report, name="report"),
]
