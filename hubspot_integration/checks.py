"""System checks: catch a configuration that cannot work at start-up, not at the first request."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from .crypto import is_valid_key


@register()
def check_encryption_keys(app_configs, **kwargs):
    keys = getattr(settings, "HUBSPOT_ENCRYPTION_KEYS", [])
    if not keys:
        return [
            Error(
                "HUBSPOT_ENCRYPTION_KEYS is empty.",
                hint="Set it to one or more Fernet keys, newest first, comma-separated.",
                id="hubspot.E001",
            )
        ]
    bad = [i for i, key in enumerate(keys, start=1) if not is_valid_key(key)]
    if bad:
        return [
            Error(
                f"HUBSPOT_ENCRYPTION_KEYS entry {', '.join(map(str, bad))} is not a Fernet key.",
                hint="Each key is 32 url-safe base64-encoded bytes (Fernet.generate_key()).",
                id="hubspot.E002",
            )
        ]
    return []


@register()
def check_api_base_url(app_configs, **kwargs):
    url = getattr(settings, "HUBSPOT_API_BASE_URL", "")
    errors = []
    for name in ("HUBSPOT_API_BASE_URL", "HUBSPOT_FORMS_BASE_URL"):
        url = getattr(settings, name, "")
        if not url.startswith(("http://", "https://")):
            errors.append(Error(f"{name} must be an http(s) URL.", id="hubspot.E003", obj=name))
        elif url.startswith("http://") and not settings.DEBUG:
            errors.append(
                Warning(
                    f"{name} uses plain http with DEBUG off: the token would cross the network "
                    "unencrypted.",
                    id="hubspot.W001",
                )
            )
    return errors
