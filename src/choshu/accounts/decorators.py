"""Access checks shared by the staff views."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from choshu.accounts.models import User
from choshu.accounts.permissions import has_right

View = TypeVar("View", bound=Callable[..., HttpResponseBase])  # a streamed response too


def right_required(right: str, *, any_of: tuple[str, ...] = ()) -> Callable[[View], View]:
    """Anonymous users go to the login page; signed-in users without ``right`` (and, when ``any_of``
    is given, without at least one of those rights too) get the 403 page."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = cast(User, request.user)
            if not has_right(user, right) or (any_of and not any(has_right(user, r) for r in any_of)):
                raise PermissionDenied("この画面を利用する権限がありません。")
            return view(request, *args, **kwargs)

        guarded = login_required(wrapped)
        # Read by the generated permission battery (core/tests/test_permission_battery.py): every view
        # of the URL configuration names its right, or is listed there with how it checks access.
        guarded.required_right = right  # type: ignore[attr-defined]
        guarded.required_any_of = any_of  # type: ignore[attr-defined]
        return cast(View, guarded)

    return decorator


def staff_user(request: HttpRequest) -> User:
    """The signed-in member of staff (views behind ``right_required`` only)."""
    return cast(User, request.user)
