from django.urls import path

from . import chat_views, views

app_name = "sessions"

urlpatterns = [
    path("<int:appointment_id>/", views.join, name="join"),
    path("<int:appointment_id>/check/", views.check, name="check"),
    path("<int:appointment_id>/admit/", views.admit, name="admit"),
    path("<int:appointment_id>/message/", views.message, name="message"),
    path("<int:appointment_id>/end/", views.end, name="end"),
    # Secure messaging
    path("messages/", chat_views.thread_list, name="messages"),
    path("messages/<int:thread_id>/", chat_views.thread_detail, name="thread"),
    path("messages/with/<int:user_id>/", chat_views.thread_with, name="thread_with"),
]
