from django.urls import path

from choshu.cases import plan_views, views

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
    path("<int:pk>/plans/new/", plan_views.plan_new, name="plan-new"),
    path("<int:pk>/plans/<int:plan_pk>/", plan_views.plan_detail, name="plan"),
    path("<int:pk>/plans/<int:plan_pk>/pledge/", plan_views.plan_pledge_view, name="plan-pledge"),
    path("<int:pk>/plans/<int:plan_pk>/cancel/", plan_views.plan_cancel_view, name="plan-cancel"),
    path("<int:pk>/plans/<int:plan_pk>/pdf/", plan_views.plan_pdf, name="plan-pdf"),
    path("<int:pk>/plans/<int:plan_pk>/slips/<int:no>/", plan_views.plan_slip_pdf, name="plan-slip"),
]
