"""The ``approvals:`` URLs: the approvals' own screens, and the request forms of the apps owning the data."""

from django.urls import path

from choshu.approvals.urls import app_name as app_name
from choshu.approvals.urls import urlpatterns as decision_patterns
from choshu.web import approval_requests, mailing_requests

urlpatterns = [
    *decision_patterns,
    path("taxpayers/<int:taxpayer_pk>/edit/", approval_requests.taxpayer_edit, name="taxpayer-edit"),
    path("taxpayers/<int:taxpayer_pk>/my-number/", approval_requests.my_number_link, name="my-number-link"),
    path("taxpayers/<int:taxpayer_pk>/mailing/", mailing_requests.mailing_address, name="mailing-address"),
]
