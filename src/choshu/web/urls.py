from django.urls import path

from choshu.web import jobs_views, late_charge_views, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/otp/", views.login_otp, name="login-otp"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("search/", views.search, name="search"),
    path("taxpayers/<int:pk>/", views.taxpayer_overview, name="taxpayer-overview"),
    path(
        "taxpayers/<int:pk>/late-charge/<int:installment_pk>/",
        late_charge_views.late_charge_derivation,
        name="late-charge-derivation",
    ),
    path("taxpayers/<int:pk>/my-number/", views.my_number_reveal, name="my-number-reveal"),
    path("taxpayers/<int:pk>/disclosure/", views.disclosure, name="disclosure"),
    path("taxpayers/<int:pk>/disclosure/<slug:token>/", views.disclosure_ready, name="disclosure-ready"),
    path(
        "taxpayers/<int:pk>/disclosure/<slug:token>.csv",
        views.disclosure_download,
        {"fmt": "csv"},
        name="disclosure-csv",
    ),
    path(
        "taxpayers/<int:pk>/disclosure/<slug:token>.pdf",
        views.disclosure_download,
        {"fmt": "pdf"},
        name="disclosure-pdf",
    ),
    path("jobs/", jobs_views.job_list, name="job-list"),
    path("jobs/upload/", jobs_views.job_upload, name="job-upload"),
    path("jobs/<int:pk>/", jobs_views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/status/", jobs_views.job_status, name="job-status"),
    path("jobs/<int:pk>/rerun/", jobs_views.job_rerun, name="job-rerun"),
]
