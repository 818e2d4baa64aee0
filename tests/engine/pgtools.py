"""What the engine's PostgreSQL-only tests share: the server, the test key, and when they run."""

from __future__ import annotations

import socket

import pytest
from django.db import connection

PG_SERVER = "postgres://postgres@127.0.0.1:5432"
FIELD_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="  # the test-only key of conftest.py


def postgres_answers() -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", 5432)) == 0


# These tests make databases of their own on the server: run once, in the PostgreSQL pass of the suite.
PG_PASS_ONLY = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="run once, in the PostgreSQL pass of the suite"
    ),
    pytest.mark.skipif(not postgres_answers(), reason="no PostgreSQL on 127.0.0.1:5432"),
]
