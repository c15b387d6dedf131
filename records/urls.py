from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("patients/", views.patients, name="patients"),
    path("patients/<int:patient_id>/", views.chart, name="chart"),
    path("patients/<int:patient_id>/break-glass/", views.break_glass, name="break_glass"),
    path("patients/<int:patient_id>/notes/new/", views.note_new, name="note_new"),
    path("flags/<int:flag_id>/clear/", views.flag_clear, name="flag_clear"),
    path("notes/<int:note_id>/", views.note_detail, name="note_detail"),
    path("notes/<int:note_id>/edit/", views.note_edit, name="note_edit"),
    path("notes/<int:note_id>/sign/", views.note_sign, name="note_sign"),
    path("notes/<int:note_id>/addenda/", views.addendum_add, name="addendum_add"),
    path("questionnaires/", views.measures_home, name="measures"),
    path("questionnaires/<str:instrument>/", views.measure_take, name="measure_take"),
    path("my-record/", views.my_record, name="my_record"),
    path("my-record/export.json", views.export_json, name="export_json"),
    path("my-record/export/", views.export_html, name="export_html"),
    path("audit/", views.audit, name="audit"),
]
