from django.urls import path

from choshu.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.work_list_view, name="work-list"),
    path("list/", views.case_list_view, name="list"),
    path("workload/", views.workload_view, name="workload"),
    path("reassign/", views.reassign_view, name="reassign"),
    path("open/", views.case_open_view, name="open"),
    path("<int:pk>/", views.case_detail, name="case"),
    path("<int:pk>/timeline/", views.timeline_view, name="timeline"),
    path("<int:pk>/contacts/", views.contact_new, name="contact-new"),
    path("<int:pk>/flags/", views.flag_new, name="flag-new"),
    path("<int:pk>/flags/<int:flag_pk>/remove/", views.flag_remove_view, name="flag-remove"),
    path("<int:pk>/stage/", views.stage_view, name="stage"),
]
