from django.urls import path

from choshu.enforcement import claim_views, inquiry_views, views

app_name = "enforcement"
urlpatterns = [
    path("seizures/", views.seizure_list, name="seizures"),
    path("cases/<int:case_pk>/seizures/new/", views.seizure_new, name="seizure-new"),
    path("seizures/<int:pk>/", views.seizure_detail, name="seizure"),
    path("seizures/<int:pk>/record.pdf", views.seizure_record_pdf, name="seizure-record-pdf"),
    path("seizures/<int:pk>/notice.pdf", views.seizure_notice_pdf, name="seizure-notice-pdf"),
    path("inquiries/", inquiry_views.batch_list, name="inquiry-batches"),
    path("inquiries/new/", inquiry_views.batch_new, name="inquiry-new"),
    path("inquiries/<int:pk>/", inquiry_views.batch_detail, name="inquiry-batch"),
    path("inquiries/<int:pk>/letters/<int:index>/", inquiry_views.batch_letter_file, name="inquiry-letter"),
    path("inquiries/answers/<int:pk>/", inquiry_views.answer, name="inquiry-answer"),
    path("cases/<int:case_pk>/claims/new/", claim_views.claim_new, name="claim-new"),
    path("claims/<int:pk>/", claim_views.claim_detail, name="claim"),
    path("sales/<int:pk>/distribution.pdf", views.sale_pdf, name="sale-pdf"),
]
