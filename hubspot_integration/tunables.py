"""The app's limits, each with its default here and an override in the project's settings.

Read at the moment of use (`tunables.get("HUBSPOT_THROTTLE_LIMIT")`), so a test's `settings`
fixture or a deployment's settings module changes them without touching the code that uses them.
"""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    # Public forms (support request, contact message, sign-up): submissions allowed per window, per
    # logged-in account, or per client address for anonymous visitors.
    "HUBSPOT_THROTTLE_LIMIT": 5,
    "HUBSPOT_THROTTLE_WINDOW_SECONDS": 10 * 60,
    # CSV imports: the biggest upload the admin accepts, and the longest line (in bytes) any
    # import reads before deciding the file is not a contacts CSV.
    "HUBSPOT_IMPORT_MAX_UPLOAD_BYTES": 20 * 1024 * 1024,
    "HUBSPOT_IMPORT_MAX_LINE_BYTES": 64 * 1024,
    # The API: how deeply lists and objects may nest in a JSON body (the API's own bodies nest
    # two or three levels).
    "HUBSPOT_API_MAX_JSON_DEPTH": 32,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
