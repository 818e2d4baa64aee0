from django.urls import path

from choshu.dunning import mail_views, views

app_name = "dunning"
urlpatterns = [
    path("run/", views.run_view, name="run"),
    path("returned/", mail_views.returned_mail_view, name="returned-mail"),
    path("public-notice/", mail_views.public_notice_view, name="public-notice"),
    path("suppressions/", mail_views.suppression_list, name="suppression-list"),
    path("suppressions/new/", mail_views.suppression_new, name="suppression-new"),
    path("suppressions/<int:pk>/end/", mail_views.suppression_end_view, name="suppression-end"),
]
