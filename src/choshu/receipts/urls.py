from django.urls import path

from choshu.receipts import slip_views, views

app_name = "receipts"
urlpatterns = [
    path("daily/", views.daily, name="daily"),
    path("daily/csv/", views.daily_csv, name="daily-csv"),
    path("suspense/", views.suspense_list, name="suspense-list"),
    path("suspense/<int:pk>/", views.suspense_detail, name="suspense-detail"),
    path("suspense/<int:pk>/assign/", views.suspense_assign, name="suspense-assign"),
    path("suspense/<int:pk>/refund/", views.suspense_refund, name="suspense-refund"),
    path("counter/", views.counter, name="counter"),
    path("counter/<int:pk>/", views.counter_result, name="counter-result"),
    path("counter/close/", views.counter_close, name="counter-close"),
    path("payments/<int:pk>/", views.payment_detail, name="payment-detail"),
    path("payments/<int:pk>/reverse/", views.payment_reverse_view, name="payment-reverse"),
    path("payments/<int:pk>/receipt.pdf", views.receipt_pdf, name="receipt-pdf"),
    path("slips/issue/<int:taxpayer_pk>/", slip_views.slip_issue_form, name="slip-issue"),
    path("slips/<int:pk>/", slip_views.slip_issue_detail, name="slip-issue-detail"),
    path("slips/<int:pk>/slip.pdf", slip_views.slip_issue_pdf, name="slip-issue-pdf"),
]
