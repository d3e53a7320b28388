from django.urls import path

from . import views

urlpatterns = [
    path("", views.contact_list, name="contact_list"),
    path("new/", views.contact_create_view, name="contact_create"),
    path("<int:contact_pk>/", views.contact_detail, name="contact_detail"),
    path("<int:contact_pk>/edit/", views.contact_edit, name="contact_edit"),
]
