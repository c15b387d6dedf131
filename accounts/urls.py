from django.urls import path

from . import views

urlpatterns = [
    path("consent/", views.consent, name="consent"),
    path("profile/", views.profile, name="profile"),
    path("staff/invitations/", views.invitations, name="invitations"),
    path("invite/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
]
