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


def right_required(right: str) -> Callable[[View], View]:
    """Anonymous users go to the login page; signed-in users without ``right`` get the 403 page."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_right(cast(User, request.user), right):
                raise PermissionDenied("この画面を利用する権限がありません。")
            return view(request, *args, **kwargs)

        return cast(View, login_required(wrapped))

    return decorator


def staff_user(request: HttpRequest) -> User:
    """The signed-in member of staff (views behind ``right_required`` only)."""
    return cast(User, request.user)
