from django.urls import path

from choshu.relief import views

app_name = "relief"
urlpatterns = [
    path("prescriptions/", views.prescription_list, name="prescriptions"),
    path("write-offs/", views.write_off_list, name="write-offs"),
    path("write-offs/csv/", views.write_off_csv, name="write-off-csv"),
]
