"""Saving the HubSpot settings with an audit entry that never holds a secret."""

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..actor import acting_as
from ..models import HubSpotSettings, SettingsAuditEntry, validate_script_url_override
from ..oauth.tokens import CONNECTION_FIELDS

# Secrets are audited by name only: "token changed", never a value or a fragment of one.
SECRET_LABELS = {
    "access_token": gettext_lazy("token"),
    "webhook_secret": gettext_lazy("webhook secret"),
}


def describe_changes(changed_fields: list[str]) -> str:
    """The audit entry's summary, in the language of whoever saved (the entry keeps the field
    names too, in `changed_fields`)."""
    parts = []
    for name in changed_fields:
        if name in SECRET_LABELS:
            parts.append(_("%(secret)s changed") % {"secret": SECRET_LABELS[name]})
        else:
            parts.append(str(HubSpotSettings._meta.get_field(name).verbose_name))
    if not parts:
        return _("Saved without changes")
    return _("Changed %(fields)s") % {"fields": ", ".join(parts)}


def record_audit(*, actor, source: str, changed_fields: list[str], action: str = "update"):
    return SettingsAuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "get_username", lambda: "")() if actor else "",
        source=source,
        action=action,
        changed_fields=list(changed_fields),
        summary=describe_changes(changed_fields),
    )


def changed_fields_between(before: HubSpotSettings, after: HubSpotSettings) -> list[str]:
    names = []
    for field in HubSpotSettings._meta.concrete_fields:
        if field.name in ("id", "updated_at"):
            continue
        if field.value_from_object(before) != field.value_from_object(after):
            names.append(field.name)
    return names


@transaction.atomic
def save_settings(instance: HubSpotSettings, *, actor, source: str) -> list[str]:
    """Validate for `actor`, save and audit. Returns the names of the fields that changed.

    Raises ValidationError naming the field, e.g. `script_url_override` when `actor` may not set
    that host (only a superuser may name a script host outside HubSpot)."""
    previous = HubSpotSettings.solo_queryset().select_for_update().first() or HubSpotSettings()
    # Neither the admin form nor the API edits the OAuth connection, but their copy of the row
    # was read before this request's work: a token refreshed since (by any process) is kept.
    for name in CONNECTION_FIELDS:
        setattr(instance, name, getattr(previous, name))
    with acting_as(actor):
        instance.full_clean()
    # Again against the locked row: what the form or serializer compared with may be stale.
    validate_script_url_override(
        instance.script_url_override,
        portal_id=instance.portal_id,
        actor=actor,
        stored=previous.script_url_override,
    )
    changed = changed_fields_between(previous, instance)
    instance.save()
    if changed:
        record_audit(actor=actor, source=source, changed_fields=changed)
    return changed
