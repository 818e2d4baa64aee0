"""The permission battery, generated from the URL configuration (issue 14 §5).

Every view of the URL configuration names its right (``accounts.decorators.right_required`` marks the
view with ``required_right``) or is listed in ``OPEN`` with why. Then, for every route and every role:
a role without the right gets 403 (for GET, or for POST where the view takes POST only) and a role with
it never gets 403 or a 5xx; a user of another municipality holding every right never sees a person of
this one (404), nor any other object a URL takes the id of (決裁, 取込, 仮受, 収納, 納付書の発行, 職員:
``object_world``), by GET or by POST. A view added without a rule fails
``test_every_view_names_its_right``; a route taking an id of a kind the battery does not know fails
``test_every_route_taking_an_id_is_known``.

Teams (班): the first team-scoped function is 滞納整理 (``cases.access``): an officer sees only the
cases of their own team. The other-team case of every case route is tested in
``cases/tests/test_views.py`` (``test_another_teams_officer_gets_404_on_every_case_route``); the
routes are in ``object_world`` like every other, so another municipality is refused here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve

from choshu.accounts.models import Role
from choshu.accounts.permissions import effective_rights
from choshu.core.tests.object_world import all_rights_chief, fill, kinds_of, objects_of
from choshu.core.tests.test_url_protection import ROUTES, _concrete
from choshu.taxpayers.models import Taxpayer

# Views open to anyone (they are the way in or out); everything else must name a right.
OPEN = {
    "web:home": "redirects to the login page or the search",
    "web:login": "the password step",
    "web:login-otp": "the second factor (needs the password step first)",
    "web:logout": "POST only; ends the caller's own session",
}
GUARDED = [(name, route) for name, route in ROUTES if name not in OPEN]


def _right_of(route: str) -> str | None:
    return getattr(resolve(_concrete(route)).func, "required_right", None)


def _holds(user: Any, route: str) -> bool:
    view = resolve(_concrete(route)).func
    rights = effective_rights(user)
    any_of = getattr(view, "required_any_of", ())
    return getattr(view, "required_right", None) in rights and (not any_of or bool(rights & set(any_of)))


def test_every_view_names_its_right() -> None:
    unnamed = [name for name, route in GUARDED if _right_of(route) is None]
    assert unnamed == [], f"views without right_required (add one, or list them in OPEN with why): {unnamed}"
    assert set(OPEN) <= {name for name, _ in ROUTES}, "OPEN names a view that no longer exists"


@pytest.fixture
def clients(sample_city: Any, make_user: Callable[..., Any]) -> dict[str, tuple[Any, Client]]:
    from conftest import login_verified

    users = {role: make_user(f"u_{role}", role=role, municipality=sample_city) for role in Role.values}
    return {role: (user, login_verified(Client(), user)) for role, user in users.items()}


def test_each_role_gets_403_exactly_where_it_lacks_the_right(clients: dict[str, tuple[Any, Client]]) -> None:
    wrong: list[str] = []
    for name, route in GUARDED:
        right = _right_of(route)
        url = _concrete(route)
        for role, (user, client) in clients.items():
            holds = _holds(user, route)
            status = client.get(url).status_code
            if status == 405 and not holds:  # POST-only view: the right is checked before anything else
                status = client.post(url).status_code
            if status >= 500 or (holds and status == 403) or (not holds and status not in (403, 405)):
                wrong.append(f"{name} as {role} (right {right}, held {holds}): {status}")
    assert wrong == [], wrong


def test_another_municipality_never_sees_a_person_of_this_one(
    sample_city: Any, other_municipality: Any, make_user: Callable[..., Any]
) -> None:
    from conftest import login_verified

    stranger = make_user("stranger", role=Role.CHIEF, municipality=other_municipality)
    client = login_verified(Client(), stranger)
    person = Taxpayer.objects.filter(municipality=sample_city).order_by("pk").first()
    assert person is not None
    person_routes = [
        (n, r) for n, r in GUARDED if r.startswith(("taxpayers/<int:pk>/", "approvals/taxpayers/"))
    ]
    assert len(person_routes) >= 5
    seen: list[str] = []
    for name, route in person_routes:
        url = _concrete(
            route.replace("<int:pk>", str(person.pk)).replace("<int:taxpayer_pk>", str(person.pk))
        )
        status = client.get(url).status_code
        if status not in (403, 404, 405):
            seen.append(f"{name}: {status}")
    assert seen == []


OBJECT_ROUTES = [(name, route) for name, route in GUARDED if "<int:" in route]


def test_every_route_taking_an_id_is_known() -> None:
    assert len(OBJECT_ROUTES) >= 20
    for _, route in OBJECT_ROUTES:
        kinds_of(route)  # raises, naming what to add


def test_another_municipality_never_opens_an_object_of_this_one(
    sample_city: Any,
    other_municipality: Any,
    make_user: Callable[..., Any],
    write_csv: Callable[..., Any],
    settings: Any,
    tmp_path: Any,
) -> None:
    """Every route taking an id, filled with the id of a real object of this city: the other city's
    chief (every right) gets 403 or 404 by GET and by POST, while this city's chief opens it (so the
    ids are real and the refusal is the municipality's, not a missing object's)."""
    from conftest import login_verified

    settings.VAR_DIR = tmp_path
    ids = objects_of(sample_city, make_user, write_csv)
    stranger = login_verified(Client(), all_rights_chief("stranger", other_municipality, make_user))
    home = login_verified(Client(), all_rights_chief("home", sample_city, make_user))
    opened: list[str] = []
    leaked: list[str] = []
    for name, route in OBJECT_ROUTES:
        url = fill(route, ids)
        for method in ("get", "post"):
            status = getattr(stranger, method)(url).status_code
            if status not in (403, 404, 405):
                leaked.append(f"{method.upper()} {name} {url}: {status}")
        if "<slug:" in route:
            continue  # a token of the home user's own session: not a stored object
        status = home.get(url).status_code
        if status == 405:
            status = home.post(url).status_code
        if status in (403, 404):
            opened.append(f"{name} {url}: {status}")
    assert leaked == []
    assert opened == [], f"this city's chief cannot open these (the ids are wrong?): {opened}"
