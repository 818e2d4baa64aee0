from django.urls import path

from choshu.relief import relief_views, views

app_name = "relief"
urlpatterns = [
    path("prescriptions/", views.prescription_list, name="prescriptions"),
    path("write-offs/", views.write_off_list, name="write-offs"),
    path("write-offs/csv/", views.write_off_csv, name="write-off-csv"),
    path("reliefs/", relief_views.relief_list, name="reliefs"),
    path("reliefs/new/", relief_views.relief_new, name="relief-new"),
    path("reliefs/<int:pk>/", relief_views.relief_detail, name="relief"),
]
