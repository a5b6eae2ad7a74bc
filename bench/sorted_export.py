"""Search calls for a 25,000-contact export: in creation order, and sorted by last name.

    .venv/bin/python bench/sorted_export.py

Starts the fake with 25,000 contacts (14 last names, so ties straddle the 10,000 cap; every 97th
without one), equal values in no particular order as HubSpot promises none, points the panel at
it (in-memory SQLite and cache, nothing of yours is touched), reads every record both ways and
prints the rows, repeats and search calls of each beside ceil(n/200).
"""

import math

from in_memory_panel import connected_fake

N = 25_000


def main():
    with connected_fake() as fake:
        from hubspot_integration.contacts.service import service as contacts
        from hubspot_integration.crm import listing

        fake.state.scrambled_ties = True
        made = fake.seed_contacts(N)
        with fake.state.lock:
            for object_id in made[::97]:
                fake.state.records["contacts"][str(object_id)].props["lastname"] = ""
        print(f"fake HubSpot: {N:,} contacts; ceil(n/200) = {math.ceil(N / 200)}")
        for name, sort in (
            ("creation order (windows)", None),
            ("last name (values)", ("lastname", listing.ASC)),
            ("last name, descending", ("lastname", listing.DESC)),
        ):
            before = fake.count("POST", "/crm/objects/")
            ids = [r["id"] for r in contacts.iter_all(sort=sort)]
            calls = fake.count("POST", "/crm/objects/") - before
            print(
                f"{name:<26} {len(ids):>6} rows  {len(ids) - len(set(ids)):>2} repeats  "
                f"{calls:>4} search calls"
            )


if __name__ == "__main__":
    main()
