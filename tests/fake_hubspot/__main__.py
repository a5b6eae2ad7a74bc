"""Serve the fake on its own, to try the panel without a HubSpot account.

    python -m tests.fake_hubspot --port 8765 --seed

then point the panel at it (HUBSPOT_API_BASE_URL and HUBSPOT_FORMS_BASE_URL) and use one of the
printed credentials and the portal ID. The first line printed is always the URL, for scripts that
start it. The data lives in memory: restarting the process starts from a fresh account.
"""

import argparse
import signal
import sys
import threading

from . import (
    CONTACT_FORM_ID,
    FAKE_APP_TOKEN,
    FAKE_CLIENT_ID,
    FAKE_CLIENT_SECRET,
    FAKE_PORTAL_ID,
    FAKE_SERVICE_KEY,
    FAKE_TOKEN,
    NEWSLETTER_FORM_ID,
    VERSIONS,
    FakeHubSpot,
)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.fake_hubspot", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--seed", action="store_true", help="load demo contacts, tickets, deals")
    args = parser.parse_args(argv)

    # SIGTERM (e.g. from a test or a process manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fake = FakeHubSpot(args.host, args.port).start()
    try:
        if args.seed:
            fake.seed_demo()
        print(f"Fake HubSpot listening on {fake.url}", flush=True)
        print(f"  private-app token: {FAKE_TOKEN}")
        print(f"  service key:       {FAKE_SERVICE_KEY}")
        print(f"  app static token:  {FAKE_APP_TOKEN}")
        print(f"  OAuth client ID:   {FAKE_CLIENT_ID}")
        print(f"  OAuth secret:      {FAKE_CLIENT_SECRET}")
        print(f"  portal ID:         {FAKE_PORTAL_ID}")
        print(f"  forms:             {CONTACT_FORM_ID} (Contact us)")
        print(f"                     {NEWSLETTER_FORM_ID} (Newsletter signup)")
        print(f"  API versions:      {', '.join(VERSIONS)} (date-based paths only)")
        print(
            f"  HUBSPOT_API_BASE_URL={fake.url} HUBSPOT_FORMS_BASE_URL={fake.url} "
            f"HUBSPOT_OAUTH_AUTHORIZE_URL={fake.url}/oauth/authorize"
        )
        seeded = "seeded demo data" if args.seed else "no records (--seed loads demo data)"
        print(f"Data is in memory ({seeded}): a restart resets it. Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
