from django.urls import path

from choshu.callcenter import views

app_name = "callcenter"
urlpatterns = [
    path("", views.index, name="index"),
    path("criteria/", views.criteria_save, name="criteria"),
    path("import/", views.import_upload, name="import"),
    path("report/", views.report, name="report"),
    path("calls/", views.calls, name="calls"),
    path("calls/<str:target_id>/", views.call_new, name="call"),
]
