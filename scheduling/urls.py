from django.urls import path

from . import views

app_name = "scheduling"

urlpatterns = [
    path("find/", views.find, name="find"),
    path("clinicians/<int:clinician_id>/", views.clinician_slots, name="clinician_slots"),
    path("clinicians/<int:clinician_id>/book/", views.book, name="book"),
    path("appointments/", views.appointments, name="appointments"),
    path("appointments/<int:appointment_id>/", views.appointment, name="appointment"),
    path("appointments/<int:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:appointment_id>/reschedule/", views.reschedule, name="reschedule"),
    path("appointments/<int:appointment_id>/no-show/", views.no_show, name="no_show"),
    path("appointments/<int:appointment_id>/calendar.ics", views.appointment_ics, name="ics"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    path("agenda/", views.agenda, name="agenda"),
    path("caseload/", views.caseload, name="caseload"),
    path("caseload/<int:clinician_id>/", views.caseload_for_clinician, name="caseload_for"),
    path("availability/", views.availability, name="availability"),
    path("availability/hours/", views.rule_add, name="rule_add"),
    path("availability/hours/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("availability/exceptions/", views.exception_add, name="exception_add"),
    path("availability/exceptions/<int:exception_id>/delete/", views.exception_delete,
         name="exception_delete"),
    path("availability/settings/", views.settings_update, name="settings"),
    path("availability/feed/", views.feed_rotate, name="feed_rotate"),
    path("availability/feed/revoke/", views.feed_revoke, name="feed_revoke"),
    path("admin/appointments/", views.admin_appointments_view, name="admin_appointments"),
]
