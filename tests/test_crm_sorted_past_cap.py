"""Lists and exports sorted by a column other than the creation date are complete past HubSpot's
10,000-result search cap: in the column's order, each record once, ties and empty values
included. Through the fake HubSpot (which orders equal values in no particular order, as
HubSpot promises none) and the real SDK."""

from __future__ import annotations

import math
import re

import pytest

from hubspot_integration.contacts import OBJECT_TYPE as CONTACT_TYPE
from hubspot_integration.contacts.service import service as contacts
from hubspot_integration.crm import keyset, listing
from hubspot_integration.tickets import OBJECT_TYPE as TICKET_TYPE
from tests.helpers import client_for
from tests.test_crm_lists import CONTACTS, TICKETS, csv_rows

pytestmark = pytest.mark.django_db

SEARCHES = ("POST", "/crm/objects/")


def column(object_type, prop: str) -> int:
    return next(i for i, c in enumerate(object_type.columns) if c.sort == prop)


def blank(fake, type_name: str, prop: str, ids) -> None:
    with fake.state.lock:
        for object_id in ids:
            fake.state.records[type_name][str(object_id)].props[prop] = ""


def expected(fake, type_name: str, prop: str, descending: bool = False) -> list[str]:
    """The order HubSpot sorts in: values case-blind, empty values last either way."""
    records = fake.objects(type_name)
    valued = [r for r in records if r["properties"].get(prop)]
    empty = [r["id"] for r in records if not r["properties"].get(prop)]
    valued.sort(key=lambda r: r["properties"][prop].lower(), reverse=descending)
    return [r["id"] for r in valued] + empty


def sort_keys(fake, type_name: str, prop: str, ids) -> list[str]:
    by_id = {r["id"]: (r["properties"].get(prop) or "").lower() for r in fake.objects(type_name)}
    return [by_id[i] for i in ids]


def assert_in_order(fake, type_name, prop, ids, descending=False):
    """Each record once, all of them, values in order (equal ones in any order), empty last."""
    want = expected(fake, type_name, prop, descending)
    assert len(ids) == len(set(ids)) == len(want)
    assert set(ids) == set(want)
    assert sort_keys(fake, type_name, prop, ids) == sort_keys(fake, type_name, prop, want)


def test_an_export_of_25000_contacts_sorted_by_last_name(
    hubspot_staff, hubspot_settings, fake_hubspot
):
    fake_hubspot.state.scrambled_ties = True
    made = fake_hubspot.seed_contacts(25_000)
    # 14 last names: every one is shared by some 1,750 contacts, so ties straddle the cap.
    blank(fake_hubspot, "contacts", "lastname", made[::97])
    before = fake_hubspot.count(*SEARCHES)
    response = client_for(hubspot_staff).get(
        CONTACTS + "export/", {"o": column(CONTACT_TYPE, "lastname")}
    )
    header, *rows = csv_rows(response)
    ids = [r[header.index("ID")] for r in rows]
    assert len(rows) == 25_000
    assert_in_order(fake_hubspot, "contacts", "lastname", ids)
    assert rows[-1][header.index("Last name")] == ""
    searches = fake_hubspot.count(*SEARCHES) - before
    # Full pages, plus per 10,000: one cap probe, one re-read, a partial page, the ties.
    assert searches <= math.ceil(25_000 / 200) + 12


def test_a_ticket_list_sorted_by_subject_descending_past_10000(
    hubspot_staff, tickets_on, fake_hubspot
):
    fake_hubspot.state.scrambled_ties = True
    fake_hubspot.seed_tickets(10_150)
    # Ties at the top of the list and tickets without a subject at its end.
    for _ in range(3):
        fake_hubspot.create_object("tickets", {"subject": "Zz same subject"})
    blank(
        fake_hubspot, "tickets", "subject", [t["id"] for t in fake_hubspot.objects("tickets")][:7]
    )
    want = expected(fake_hubspot, "tickets", "subject", descending=True)
    order = f"-{column(TICKET_TYPE, 'subject')}"
    from hubspot_integration.tickets.service import service as tickets

    seen, after = [], None
    before = fake_hubspot.count(*SEARCHES)
    while len(seen) < 10_000:
        page = tickets.list(limit=200, after=after, sort=("subject", listing.DESC))
        seen.extend(r["id"] for r in page.results)
        after = page.next_after
    assert fake_hubspot.count(*SEARCHES) - before <= 10_000 // 200 + 4
    # The admin's page after those 10,000: the next 20 records, then the last ones.
    client = client_for(hubspot_staff)
    deep = client.get(TICKETS, {"o": order, "after": after}).content.decode()
    shown = re.findall(r"hubspotticket/(\d+)/change/", deep)
    assert list(dict.fromkeys(shown)) == want[10_000:10_020]
    seen.extend(list(dict.fromkeys(shown)))
    while after:
        page = tickets.list(limit=200, after=after, sort=("subject", listing.DESC))
        seen.extend(r["id"] for r in page.results)
        after = page.next_after
    seen = list(dict.fromkeys(seen))
    assert_in_order(fake_hubspot, "tickets", "subject", seen, descending=True)


@pytest.mark.parametrize("descending", [False, True])
def test_long_ties_and_empty_values_past_a_small_cap(
    hubspot_settings, fake_hubspot, monkeypatch, descending
):
    """The same reads against a cap of 30: ties longer than the cap, empty values, both ways."""
    from tests.fake_hubspot import state_search

    monkeypatch.setattr(state_search, "MAX_SEARCH_RESULTS", 30)
    monkeypatch.setattr(keyset, "SEARCH_CAP", 30)
    fake_hubspot.state.scrambled_ties = True
    names = ["Berg"] * 45 + ["adams"] * 5 + ["Costa", "diaz"] * 12 + [""] * 33 + ["ADAMS"] * 4
    for k, name in enumerate(names):
        fake_hubspot.create_object("contacts", {"email": f"p{k}@example.com", "lastname": name})
    direction = listing.DESC if descending else listing.ASC
    read = contacts.iter_all(sort=("lastname", direction))
    assert_in_order(fake_hubspot, "contacts", "lastname", [r["id"] for r in read], descending)
    for limit in (7, 30):
        seen, after, pages = [], None, 0
        while True:
            page = contacts.list(limit=limit, after=after, sort=("lastname", direction))
            assert page.results, "no page is empty"
            seen.extend(r["id"] for r in page.results)
            pages += 1
            if not (after := page.next_after):
                break
        assert pages == math.ceil(len(names) / limit)
        assert_in_order(fake_hubspot, "contacts", "lastname", seen, descending)


def test_sorted_cursors_survive_bad_input():
    cursor = keyset.Cursor(keyset.TIES, "b", True, "c~d", 0, "123", False)
    assert keyset.decode(keyset.encode(cursor)) == cursor
    for bad in ("", "k", "kzzzz", "k" + "A" * 8, "w1~~", "200", None):
        assert keyset.decode(bad) == keyset.Cursor()
    assert keyset.filter_value("2026-12-01T10:00:00.000Z") == "1796119200000"
    assert keyset.filter_value("Smith") == "Smith"


def test_a_short_sorted_list_is_one_query_with_empty_values_last(hubspot_settings, fake_hubspot):
    for k, name in enumerate(["Lee", "", "adams", "", "Berg"]):
        fake_hubspot.create_object("contacts", {"email": f"s{k}@example.com", "lastname": name})
    seen, after, before = [], None, fake_hubspot.count(*SEARCHES)
    while True:
        page = contacts.list(limit=2, after=after, sort=("lastname", listing.ASC))
        seen.extend(r["id"] for r in page.results)
        if not (after := page.next_after):
            break
    assert fake_hubspot.count(*SEARCHES) - before == 3  # one search a page, nothing more
    assert_in_order(fake_hubspot, "contacts", "lastname", seen)
    assert sort_keys(fake_hubspot, "contacts", "lastname", seen)[-2:] == ["", ""]
