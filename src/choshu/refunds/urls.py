from django.urls import path

from choshu.refunds import views

app_name = "refunds"
urlpatterns = [
    path("", views.overpayment_list, name="list"),
    path("<int:pk>/", views.overpayment_detail, name="detail"),
    path("accounts/new/", views.account_new, name="account-new"),
    path("notices/<int:pk>/pdf/", views.notice_pdf, name="notice-pdf"),
]
