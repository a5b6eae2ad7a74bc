"""System checks: catch a configuration that cannot work at start-up, not at the first request."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from .conf import app_settings
from .crypto import is_valid_key


@register()
def check_encryption_keys(app_configs, **kwargs):
    keys = app_settings.ENCRYPTION_KEYS
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
    errors = []
    for name, url in (
        ("HUBSPOT_API_BASE_URL", app_settings.API_BASE_URL),
        ("HUBSPOT_FORMS_BASE_URL", app_settings.FORMS_BASE_URL),
    ):
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


@register(Tags.database)
def check_script_host(app_configs, databases=None, **kwargs):
    """A tracking script from outside HubSpot is allowed by the CSP on every customer page: say so.

    A database check (the value is a stored setting): `migrate` runs it, and
    `manage.py check --database default`; plain `check` does not touch the database."""
    from .models import HubSpotSettings, is_hubspot_script_host

    if "default" not in (databases or ()):
        return []
    try:
        value = (
            HubSpotSettings.solo_queryset(using="default")
            .values_list("script_url_override", flat=True)
            .first()
        )
    except DatabaseError:
        return []  # not migrated yet: nothing is configured
    if not value or is_hubspot_script_host(value):
        return []
    from .services.chat import script_host

    return [
        Warning(
            f"The tracking script is loaded from {script_host(value) or value!r}, not from one of "
            "HubSpot's script hosts (*.hs-scripts.com): the Content-Security-Policy lets that "
            "host run script on every customer page.",
            hint="Only a superuser can set this (HubSpot settings, 'tracking script URL "
            "override'). Clear it unless whoever controls that host is trusted like a superuser.",
            obj="HubSpotSettings.script_url_override",
            id="hubspot.W002",
        )
    ]


# Backends that never deliver a message to anyone's inbox.
UNDELIVERED_EMAIL_BACKENDS = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
)


@register(deploy=True)
def check_email_delivery(app_configs, **kwargs):
    if settings.DEBUG or settings.EMAIL_BACKEND not in UNDELIVERED_EMAIL_BACKENDS:
        return []
    return [
        Warning(
            f"Email is not delivered ({settings.EMAIL_BACKEND}): customers never receive the link "
            "that verifies their address, so the chat and support treat them as anonymous.",
            hint="Set EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.com:587) and "
            "DEFAULT_FROM_EMAIL.",
            id="hubspot.W003",
        )
    ]


@register()
def check_outbox_handlers(app_configs, **kwargs):
    """An operation kind without a handler would only fail when its first row is attempted."""
    from .services.outbox import unhandled_kinds

    return [
        Error(
            f"The outbox kind {kind!r} has no registered handler: its operations would never "
            "be sent to HubSpot.",
            hint="List the handler in its service module's OUTBOX_HANDLERS and that module in "
            "HubSpotIntegrationConfig.register_outbox_handlers().",
            obj=kind,
            id="hubspot.E010",
        )
        for kind in unhandled_kinds()
    ]


@register()
def check_queue_jobs(app_configs, **kwargs):
    """A job with no task bound would be logged as "could not queue" on every enqueue."""
    from .services.queue import unbound_jobs

    return [
        Error(
            f"The queue job {job!r} has no task bound: its work would wait for the sweep.",
            hint="Bind it in HubSpotIntegrationConfig.bind_queue_jobs().",
            obj=job,
            id="hubspot.E011",
        )
        for job in unbound_jobs()
    ]


@register()
def check_metrics_access(app_configs, **kwargs):
    """A METRICS_ALLOWED_IPS entry that is no address or range would silently let no one in."""
    import ipaddress

    found = []
    for entry in getattr(settings, "METRICS_ALLOWED_IPS", None) or ():
        try:
            ipaddress.ip_network(str(entry).strip(), strict=False)
        except ValueError:
            found.append(
                Error(
                    f"METRICS_ALLOWED_IPS entry {entry!r} is not an IP address or CIDR range.",
                    hint="Use addresses or ranges such as 10.0.0.7, 10.0.0.0/8 or fd00::/8.",
                    obj="METRICS_ALLOWED_IPS",
                    id="hubspot.E012",
                )
            )
    return found


@register()
def check_identification_share(app_configs, **kwargs):
    """A bad share would only show at the first customer's page render."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        _ = app_settings.CHAT_IDENTIFICATION_SHARE
    except ImproperlyConfigured as err:
        return [
            Error(
                str(err),
                hint="0.3 (the default) lets page renders spend 30% of HubSpot's rate window "
                "on chat identification; 1 switches the budget off.",
                obj=app_settings.setting_name("CHAT_IDENTIFICATION_SHARE"),
                id="hubspot.E013",
            )
        ]
    return []
