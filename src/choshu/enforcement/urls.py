from django.urls import path

from choshu.enforcement import views

app_name = "enforcement"
urlpatterns = [
    path("seizures/", views.seizure_list, name="seizures"),
    path("cases/<int:case_pk>/seizures/new/", views.seizure_new, name="seizure-new"),
    path("seizures/<int:pk>/", views.seizure_detail, name="seizure"),
    path("seizures/<int:pk>/record.pdf", views.seizure_record_pdf, name="seizure-record-pdf"),
    path("seizures/<int:pk>/notice.pdf", views.seizure_notice_pdf, name="seizure-notice-pdf"),
]
