"""The panel calls HubSpot's date-based API; numbered paths only where HubSpot has nothing newer.

Every test that uses the fake also checks, when it ends, that each request the panel sent matched
an operation of `client.OPERATIONS` (see `tests/conftest.py`), so a call on a numbered path
outside the list below fails the test that made it.
"""

import re

import pytest

from hubspot_integration.client import OPERATIONS, legacy_operations, operation_path

# What HubSpot publishes no date-based version of (HUBSPOT_API.md, checked 2026-12-01).
NAMED_LEGACY = {
    "/submissions/v3/integration/submit/{portalId}/{formGuid}",
    "/marketing/v3/forms",
    "/form-integrations/v1/submissions/forms/{formGuid}",
    "/analytics/v2/reports/{breakdown}/total",
    "/oauth/v2/private-apps/get/access-token-info",
}
NUMBERED = re.compile(r"/v\d+(/|$)")


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_each_operation_is_date_based_or_named_legacy(name):
    op = OPERATIONS[name]
    if op.legacy_until:
        assert op.path in NAMED_LEGACY, f"{name} is on a legacy path that is not allowed"
        assert op.purpose, f"{name}: the connection check needs to say what it is for"
    else:
        assert "{version}" in op.path and not NUMBERED.search(op.path), name


def test_the_legacy_list_is_exactly_the_named_one():
    assert {op.path for op in legacy_operations().values()} == NAMED_LEGACY


def test_one_setting_moves_every_call(settings):
    settings.HUBSPOT_API_VERSION = "2027-03"
    assert operation_path("objects.search") == "/crm/objects/2027-03/{objectType}/search"
    assert operation_path("owners.list") == "/crm/owners/2027-03"  # no trailing slash


def test_no_module_but_the_client_names_a_hubspot_path():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "hubspot_integration"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "client.py" or "migrations" in path.parts:
            continue
        text = path.read_text()
        for needle in ("/crm/v", "/crm/objects/", "/account-info/", "/marketing/v3"):
            if needle in text:
                offenders.append(f"{path.relative_to(root)}: {needle}")
    assert offenders == []
