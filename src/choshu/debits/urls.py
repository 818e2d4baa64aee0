from django.urls import path

from choshu.debits import views

app_name = "debits"
urlpatterns = [
    path("taxpayers/<int:pk>/", views.person_mandates, name="person"),
    path("taxpayers/<int:pk>/new/", views.mandate_new, name="mandate-new"),
    path("mandates/<int:pk>/end/", views.mandate_end_view, name="mandate-end"),
    path("mandates/<int:pk>/resume/", views.mandate_resume_view, name="mandate-resume"),
    path("mandates/<int:pk>/override/", views.mandate_override, name="mandate-override"),
    path("mandates/<int:pk>/start-notice.pdf", views.start_notice, name="start-notice"),
    path("runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("failures/", views.failure_list, name="failures"),
    path("failures/<int:pk>/done/", views.failure_done, name="failure-done"),
    path("failures/<int:pk>/notice.pdf", views.failure_notice, name="failure-notice"),
]
