from django.urls import path

from choshu.dunning import views

app_name = "dunning"
urlpatterns = [
    path("run/", views.run_view, name="run"),
]
