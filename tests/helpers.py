"""Helpers the tests share (fixtures are in conftest.py; import these, never conftest)."""

import re

from django.contrib.auth.models import Group

PASSWORD = "correct-horse-battery-staple"


def make_user(django_user_model, username, *, staff=False, superuser=False, group=None):
    user = django_user_model.objects.create_user(
        username=username,
        email=f"{username}@example.com",
        password=PASSWORD,
        is_staff=staff or superuser,
        is_superuser=superuser,
    )
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def client_for(user):
    """A Django test client logged in as `user` (anonymous for None)."""
    from django.test import Client

    c = Client()
    if user is not None:
        c.force_login(user)
    return c


def _operation_patterns(version):
    from hubspot_integration.client import OPERATIONS

    patterns = []
    for op in OPERATIONS.values():
        path = re.sub(r"\\\{(\w+)\\\}", "[^/]+", re.escape(op.path.replace("{version}", version)))
        patterns.append((op.method, re.compile(path + r"\Z")))
    return patterns


def unknown_calls(requests, version):
    """Requests that match no operation of the panel (the fake's browser pages excepted)."""
    patterns = _operation_patterns(version)
    return [
        f"{r.method} {r.path}"
        for r in requests
        if not r.path.startswith("/oauth/authorize")
        and not any(m == r.method and p.match(r.path) for m, p in patterns)
    ]
