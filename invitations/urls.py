from django.urls import path

from . import views

urlpatterns = [
    path("continue/", views.invitation_continue, name="invitation_continue"),
    path("<str:token>/", views.invitation_open, name="invitation_open"),
    path("<str:token>/accept/", views.invitation_accept_view, name="invitation_accept"),
    path("<str:token>/decline/", views.invitation_decline_view, name="invitation_decline"),
    path("<str:token>/signup/", views.invitation_signup, name="invitation_signup"),
]
