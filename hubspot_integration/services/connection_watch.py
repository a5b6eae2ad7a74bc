"""The connection watched: the last stored connection check, its banner, its public verdict and
the one email to the HubSpot admins while it fails.

Every stored check (the sweep's, or an admin's "Test connection") is recorded here by
`connection.check_connection`. The sweep claims the next check with a conditional UPDATE of
`claimed_at`, so however many sweeps run in however many processes, one check runs per
`HUBSPOT_CONNECTION_CHECK_INTERVAL`. `notify()` runs on every sweep: it emails the admins when the
verdict differs from what they were last told (failing, or recovered), claiming the change first
so two sweeps never both send it, and handing it back when SMTP refuses, so the next sweep retries.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..conf import app_settings
from ..models import ConnectionWatch, HubSpotSettings
from ..roles import ADMIN_GROUP
from . import user_language

logger = logging.getLogger(__name__)

# A last check older than this many intervals means no sweep is running the watch.
STALE_INTERVALS = 3
SETTINGS_PERMISSION = "hubspot_integration.view_hubspotsettings"


def watching(s: HubSpotSettings) -> bool:
    """Whether there is a connection to watch: switched on, with a portal ID and a credential."""
    return bool(s.enabled and s.is_configured)


def current() -> ConnectionWatch | None:
    return ConnectionWatch.objects.filter(pk=ConnectionWatch.ROW).first()


def _row() -> None:
    try:
        with transaction.atomic():
            ConnectionWatch.objects.get_or_create(pk=ConnectionWatch.ROW)
    except IntegrityError:  # another process created it at the same moment
        pass


def stale(watch: ConnectionWatch | None, now=None) -> bool:
    interval = app_settings.CONNECTION_CHECK_INTERVAL
    if interval <= 0 or watch is None or watch.checked_at is None:
        return False
    now = now or timezone.now()
    return watch.checked_at < now - timedelta(seconds=STALE_INTERVALS * interval)


# --- recording a check ---------------------------------------------------------------------------
def _scrub(text: str, s: HubSpotSettings) -> str:
    """The check's messages name no secret already; this makes sure no stored one slips through
    into the row, the banner or an email (a proxy echoing the Authorization header, say)."""
    text = str(text or "")
    for name in s.SECRET_FIELDS:
        value = getattr(s, name, "")
        if isinstance(value, str) and len(value) >= 8 and value in text:
            text = text.replace(value, "[secret]")
    return text


def record(s: HubSpotSettings, report, at=None) -> None:
    """Keep a stored check's verdict; log a line when the verdict changes, and only then."""
    at = at or timezone.now()
    failures = [
        {"name": c.name, "message": _scrub(c.message, s)} for c in report.checks if not c.ok
    ]
    message = _scrub(report.message, s)
    _row()
    with transaction.atomic():
        watch = ConnectionWatch.objects.select_for_update().get(pk=ConnectionWatch.ROW)
        was = watch.ok
        watch.checked_at = at
        watch.claimed_at = max(watch.claimed_at or at, at)
        watch.ok = report.success
        watch.message = message
        watch.failures = failures
        if report.success:
            watch.failing_since = None
        elif was is not False or watch.failing_since is None:
            watch.failing_since = at
        entry = {"at": at.isoformat(), "ok": report.success, "message": message}
        keep = max(app_settings.CONNECTION_CHECK_HISTORY, 0)
        watch.history = ([entry] + list(watch.history or []))[:keep]
        watch.save()
    if report.success and was is False:
        logger.warning("HubSpot connection recovered: every check passes again")
    elif not report.success and was is not False:
        logger.error("HubSpot connection failing: %s", message)


# --- the sweep's step ----------------------------------------------------------------------------
def claim_due(now=None) -> bool:
    """Whether this process runs the next check: only when one is due, and only one process per
    interval (the UPDATE that moves `claimed_at` forward succeeds for one of them)."""
    interval = app_settings.CONNECTION_CHECK_INTERVAL
    if interval <= 0 or not watching(HubSpotSettings.load()):
        return False
    now = now or timezone.now()
    _row()
    due = Q(claimed_at__isnull=True) | Q(claimed_at__lte=now - timedelta(seconds=interval))
    return bool(ConnectionWatch.objects.filter(due, pk=ConnectionWatch.ROW).update(claimed_at=now))


def recipients_by_language() -> dict[str, list[str]]:
    """The HubSpot admins' addresses: active members of the group who can log into the admin,
    and active superusers, grouped by the language each reads (their account page's choice,
    else the site's), one email per language. Staff addresses are entered by an admin, not by
    sign-up, so they are used as they are (the verified-address record is for customers)."""
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(is_staff=True, groups__name=ADMIN_GROUP))
        .exclude(email="")
        .order_by("pk")
        .distinct()
    )
    seen: dict[str, str] = {}
    grouped: dict[str, list[str]] = {}
    for user in users.only("pk", "email"):
        email = user.email.strip()
        if email.lower() not in seen:
            seen[email.lower()] = email
            grouped.setdefault(user_language.language_for(user), []).append(email)
    return grouped


def notify(now=None) -> int:
    """Email the admins if the verdict is not what they were last told; 1 when an email went."""
    watch = current()
    if watch is None or watch.ok is None:
        return 0
    failing = watch.ok is False
    if failing == watch.alerted:
        return 0  # told already: one email per change, however many sweeps
    if failing and not watching(HubSpotSettings.load()):
        return 0  # switched off since: nothing the admins need to act on
    now = now or timezone.now()
    claimed = ConnectionWatch.objects.filter(pk=watch.pk, alerted=watch.alerted).update(
        alerted=failing, alert_sent_at=now
    )
    if not claimed:
        return 0  # another sweep is sending it
    if _send(watch, failing):
        return 1
    # Handed back unsent: the next sweep tries again, so the change is never lost.
    ConnectionWatch.objects.filter(pk=watch.pk, alerted=failing).update(
        alerted=watch.alerted, alert_sent_at=watch.alert_sent_at
    )
    return 0


def settings_url() -> str:
    """The settings page's path; "" in a project that does not mount the admin as `admin`."""
    try:
        return reverse(
            "admin:hubspot_integration_hubspotsettings_change", args=[HubSpotSettings.singleton_pk]
        )
    except NoReverseMatch:
        return ""


def _send(watch: ConnectionWatch, failing: bool) -> bool:
    groups = recipients_by_language()
    if not groups:
        logger.warning(
            "HubSpot connection %s: no HubSpot admin has an email address to tell",
            "failing" if failing else "recovered",
        )
        return True  # nobody to retry for; the banner still shows it
    template = "hubspot_integration/email/connection_" + ("failing" if failing else "recovered")
    context = {"watch": watch, "settings_path": settings_url()}
    for language, to in groups.items():
        with translation.override(language):
            subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
            body = render_to_string(f"{template}.txt", context)
        try:
            send_mail(subject, body, None, to)
        except (smtplib.SMTPException, OSError) as err:
            # Handed back whole: the next sweep sends every language again, so none is lost.
            logger.warning("HubSpot connection email not sent (the next sweep retries): %s", err)
            return False
    return True


# --- what the pages and /api/health show --------------------------------------------------------
def banner(user) -> dict | None:
    """The admin banner for `user`: None unless they hold a HubSpot permission and the last check
    failed, or no check ran for several intervals (the sweep is not running)."""
    if not (user and user.is_active and user.is_staff):
        return None
    if not user.has_module_perms("hubspot_integration"):
        return None
    if not watching(HubSpotSettings.load()):
        return None
    watch = current()
    if watch is None or watch.ok is None:
        return None
    is_stale = stale(watch)
    if watch.ok and not is_stale:
        return None
    may_open = user.has_perm(SETTINGS_PERMISSION)
    return {
        "failing": watch.ok is False,
        "stale": is_stale,
        "since": watch.failing_since or watch.checked_at,
        "checked_at": watch.checked_at,
        "message": watch.message,
        "failures": watch.failures if may_open else [],
        "link": settings_url() if may_open else "",
    }


def public_status(s: HubSpotSettings) -> dict:
    """The last check for the public /api/health: its time and verdict, the failing checks by
    name only (their messages may name the portal, a scope or a host)."""
    watch = current() if s.last_check_at else None
    is_stale = stale(watch)
    if s.last_check_ok is None:
        message = _("No connection check has run.")
    elif s.last_check_ok:
        message = _("The last connection check passed.")
    else:
        names = [f.get("name", "") for f in (watch.failures if watch else [])]
        if any(names):
            message = _("The last connection check failed: %(names)s.") % {
                "names": ", ".join(n for n in names if n)
            }
        else:
            message = _("The last connection check failed.")
    if is_stale:
        older = _("It is older than the check interval allows: is the sweep running?")
        message = f"{message} {older}"
    return {"last_check_message": message, "last_check_stale": is_stale}
