"""HubSpot calls and time for a cold and a warm CRM dashboard load, against the fake HubSpot.

    .venv/bin/python bench/dashboard.py

Starts the fake with 2,500 contacts, 350 deals over two pipelines and 120 tickets, points the panel
at it (in-memory SQLite and cache, nothing of yours is touched), loads the dashboard cold, warm,
and after Refresh, and prints the calls each load made and its time.
"""

import time

from in_memory_panel import connected_fake


def main():
    with connected_fake() as fake:
        from hubspot_integration.services import reports

        fake.seed_contacts(2500)
        fake.seed_deals(350, pipelines=2)
        fake.seed_tickets(120)
        print("fake HubSpot: 2500 contacts, 350 deals (2 pipelines), 120 tickets")

        def load(name):
            before = fake.count()
            started = time.perf_counter()
            cards = reports.dashboard()
            elapsed = (time.perf_counter() - started) * 1000
            calls = fake.count() - before
            failed = [k for k, c in cards.items() if not c.ok]
            print(f"{name:<22} {calls:>3} HubSpot calls  {elapsed:8.1f} ms  failed cards: {failed}")
            return cards

        cards = load("cold load")
        load("warm load (cached)")
        reports.refresh()
        load("after Refresh")
        summary = cards["summary"].data
        print(
            f"summary: {summary['contacts_count']} contacts, {summary['deals_count']} deals, "
            f"total deal value {summary['total_deal_value']}, open {summary['open_deal_value']}"
        )
        by_path = {}
        for r in fake.requests:
            key = f"{r.method} {r.path}"
            by_path[key] = by_path.get(key, 0) + 1
        print("calls by endpoint (all three loads):")
        for key, n in sorted(by_path.items()):
            print(f"  {n:>3}  {key}")


if __name__ == "__main__":
    main()
