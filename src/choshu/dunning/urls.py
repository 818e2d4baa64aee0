from django.urls import path

from choshu.dunning import mail_views, notice_views, reminder_views, views

app_name = "dunning"
urlpatterns = [
    path("run/", views.run_view, name="run"),
    path("reminders/", reminder_views.list_index, name="reminders"),
    path("reminders/new/", reminder_views.list_edit, name="reminder-new"),
    path("reminders/<int:pk>/", reminder_views.list_detail, name="reminder"),
    path("reminders/<int:pk>/edit/", reminder_views.list_edit, name="reminder-edit"),
    path("reminders/<int:pk>/exclude/", reminder_views.exclude, name="reminder-exclude"),
    path(
        "reminders/<int:pk>/exclusions/<int:exclusion_pk>/remove/",
        reminder_views.exclusion_delete,
        name="reminder-exclusion-remove",
    ),
    path("reminders/<int:pk>/issue/", reminder_views.issue, name="reminder-issue"),
    path("notice/<int:pk>/pdf/", notice_views.notice_pdf, name="notice-pdf"),
    path("returned/", mail_views.returned_mail_view, name="returned-mail"),
    path("public-notice/", mail_views.public_notice_view, name="public-notice"),
    path("suppressions/", mail_views.suppression_list, name="suppression-list"),
    path("suppressions/new/", mail_views.suppression_new, name="suppression-new"),
    path("suppressions/<int:pk>/end/", mail_views.suppression_end_view, name="suppression-end"),
]
