from django.urls import path

from choshu.api import views

app_name = "apiclients"
urlpatterns = [
    path("", views.client_list, name="clients"),
    path("revoke/", views.client_revoke_view, name="revoke"),
]
