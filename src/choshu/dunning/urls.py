from django.urls import path

from choshu.dunning import notice_views, views

app_name = "dunning"
urlpatterns = [
    path("run/", views.run_view, name="run"),
    path("notice/<int:pk>/pdf/", notice_views.notice_pdf, name="notice-pdf"),
]
