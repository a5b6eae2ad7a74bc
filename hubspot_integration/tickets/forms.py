"""Forms of the tickets admin pages. Choices come from HubSpot, handed in by the view."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import errors
from ..models import HubSpotSettings
from . import service as tickets
from .service import CATEGORIES, CATEGORY_LABELS, Priority


def pipeline_choices(known: list[dict]) -> list:
    return [(p["id"], p["label"]) for p in known]


def stage_choices(known: list[dict]) -> list:
    """Stages grouped under their pipeline, so one select serves every pipeline without JS."""
    return [(p["label"], [(st["id"], st["label"]) for st in p["stages"]]) for p in known]


def default_pipeline_and_stage(known: list[dict], s) -> tuple[str, str]:
    pipeline = next((p for p in known if p["id"] == s.default_ticket_pipeline), None)
    pipeline = pipeline or (known[0] if known else None)
    if pipeline is None:
        return "", ""
    stage_ids = [st["id"] for st in pipeline["stages"]]
    stage = s.default_ticket_stage if s.default_ticket_stage in stage_ids else ""
    return pipeline["id"], stage or (stage_ids[0] if stage_ids else "")


def stage_in_pipeline(known: list[dict], pipeline_id: str, stage_id: str) -> bool:
    return any(st["id"] == stage_id for p in known if p["id"] == pipeline_id for st in p["stages"])


CATEGORY_CHOICES = [("", "---------")] + [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]


class TicketCreateForm(forms.Form):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=255)
    content = forms.CharField(
        label=gettext_lazy("Description"), widget=forms.Textarea, required=False
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=Priority.choices, initial=Priority.MEDIUM
    )
    category = forms.ChoiceField(
        label=gettext_lazy("Category"), choices=CATEGORY_CHOICES, required=False
    )
    pipeline = forms.ChoiceField(label=gettext_lazy("Pipeline"), required=False)
    stage = forms.ChoiceField(label=gettext_lazy("Stage"), required=False)
    email = forms.EmailField(label=gettext_lazy("Requester's email"))

    def __init__(self, *args, pipelines: list[dict] | None, settings_obj, **kwargs):
        super().__init__(*args, **kwargs)
        self.known = pipelines
        if pipelines:
            self.fields["pipeline"].choices = pipeline_choices(pipelines)
            self.fields["stage"].choices = stage_choices(pipelines)
            pipeline, stage = default_pipeline_and_stage(pipelines, settings_obj)
            self.fields["pipeline"].initial, self.fields["stage"].initial = pipeline, stage
        else:
            # HubSpot is unreachable: the ticket is queued and takes the default pipeline later.
            for name in ("pipeline", "stage"):
                self.fields[name].choices = [("", _("The default (HubSpot is unreachable)"))]

    def clean(self):
        cleaned = super().clean()
        pipeline, stage = cleaned.get("pipeline"), cleaned.get("stage")
        if self.known and pipeline and stage and not stage_in_pipeline(self.known, pipeline, stage):
            self.add_error("stage", _("Choose a stage of the chosen pipeline."))
        return cleaned


class TicketUpdateForm(forms.Form):
    stage = forms.ChoiceField(label=gettext_lazy("Stage"))
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), choices=Priority.choices)
    owner = forms.ChoiceField(label=gettext_lazy("Owner"), required=False)

    def __init__(
        self, *args, pipeline: dict | None, owners: list[dict] | None, current: dict, **kw
    ):
        super().__init__(*args, **kw)
        stage_id = current.get("hs_pipeline_stage") or ""
        owner_id = current.get("hubspot_owner_id") or ""
        stages = [(st["id"], st["label"]) for st in (pipeline or {}).get("stages", [])]
        self.fields["stage"].choices = stages or [(stage_id, stage_id)]
        owner_choices = [("", _("Nobody"))]
        owner_choices += [(o["id"], owner_label(o)) for o in owners or []]
        if owner_id and all(value != owner_id for value, _ in owner_choices):
            owner_choices.append(
                (owner_id, _("Owner %(id)s") % {"id": owner_id})
            )  # list unavailable
        self.fields["owner"].choices = owner_choices
        self.initial = {
            "stage": stage_id,
            "priority": current.get("hs_ticket_priority") or "MEDIUM",
            "owner": owner_id,
            **self.initial,
        }


def owner_label(owner: dict) -> str:
    name = " ".join(filter(None, [owner.get("firstName"), owner.get("lastName")]))
    return f"{name} <{owner['email']}>" if name and owner.get("email") else name or owner["id"]


# --- the settings page's default pipeline and stage ------------------------------------------------
def readable_pipelines() -> list[dict] | None:
    """HubSpot's ticket pipelines, or None when they cannot be read right now."""
    if not HubSpotSettings.load().is_configured:
        return None  # nothing to ask yet: no call, no error
    try:
        return tickets.pipelines()
    except errors.HubSpotError:
        return None


def with_pipeline_choices(form_class, known: list[dict] | None):
    """The settings form with the default pipeline and stage as choices from HubSpot's list; as
    free text when the list could not be read (HubSpot unreachable or not configured yet)."""
    if not known:
        return form_class

    class SettingsFormWithPipelines(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            listed = {
                "pipeline": {p["id"] for p in known},
                "stage": {st["id"] for p in known for st in p["stages"]},
            }
            pairs = (("pipeline", pipeline_choices(known)), ("stage", stage_choices(known)))
            # A stored ID HubSpot no longer lists stays selectable, so saving never drops it.
            for name, choices in pairs:
                stored = getattr(self.instance, f"default_ticket_{name}", "")
                if stored and stored not in listed[name]:
                    choices = choices + [
                        (stored, _("%(id)s (not in HubSpot's list)") % {"id": stored})
                    ]
                self.fields[f"default_ticket_{name}"] = forms.ChoiceField(
                    label=_("Default ticket pipeline")
                    if name == "pipeline"
                    else _("Default ticket stage"),
                    choices=[("", "---------"), *choices],
                    required=False,
                )

        def clean(self):
            cleaned = super().clean()
            pipeline = cleaned.get("default_ticket_pipeline")
            stage = cleaned.get("default_ticket_stage")
            if pipeline and stage and not stage_in_pipeline(known, pipeline, stage):
                self.add_error("default_ticket_stage", _("Choose a stage of the chosen pipeline."))
            return cleaned

    return SettingsFormWithPipelines
