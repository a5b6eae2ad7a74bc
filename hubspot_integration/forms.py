"""Forms of the admin settings page."""

import re

from django import forms

from .models import HubSpotSettings

TOKEN_PATTERN = re.compile(r"^pat-[a-z0-9]+-[A-Za-z0-9-]{8,}$")


def clean_token_value(value: str) -> str:
    value = (value or "").strip()
    if value and not TOKEN_PATTERN.match(value):
        raise forms.ValidationError(
            "This is not a private-app access token: it starts with pat-, then the region, e.g. "
            "pat-na1-…. Copy it from Settings > Integrations > Private apps > Access token."
        )
    return value


class SecretInput(forms.PasswordInput):
    """Never renders a value back: the stored secret is shown only as a mask beside the field."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False
        )


class HubSpotSettingsForm(forms.ModelForm):
    new_token = forms.CharField(
        label="Private-app token",
        required=False,
        widget=SecretInput(),
        help_text="Leave blank to keep the stored token.",
    )
    clear_token = forms.BooleanField(label="Clear the stored token", required=False)
    new_webhook_secret = forms.CharField(
        label="Webhook client secret",
        required=False,
        widget=SecretInput(),
        help_text="The client secret of the HubSpot app that sends webhooks. Blank keeps it.",
    )
    clear_webhook_secret = forms.BooleanField(label="Clear the webhook secret", required=False)

    class Meta:
        model = HubSpotSettings
        fields = [
            "enabled",
            "portal_id",
            "chat_enabled",
            "tickets_enabled",
            "ticket_form_id",
            "contact_form_id",
            "default_ticket_pipeline",
            "default_ticket_stage",
            "script_url_override",
            "wait_for_consent",
            "rate_limit_per_10s",
            "dashboard_cache_seconds",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.access_token:
            self.fields[
                "new_token"
            ].help_text = f"Stored: {self.instance.masked_token}. Leave blank to keep it."
        else:
            self.fields["new_token"].help_text = "No token is stored."
        if self.instance.webhook_secret:
            self.fields["new_webhook_secret"].help_text = "A secret is stored. Blank keeps it."

    def clean_new_token(self):
        return clean_token_value(self.cleaned_data.get("new_token"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_token") and cleaned.get("clear_token"):
            self.add_error("clear_token", "Either enter a new token or clear it, not both.")
        return cleaned

    def _post_clean(self):
        # Apply the secret changes before model validation, so "enabled needs a token" sees them.
        data = getattr(self, "cleaned_data", {})
        if data.get("clear_token"):
            self.instance.access_token = ""
        elif data.get("new_token"):
            self.instance.access_token = data["new_token"]
        if data.get("clear_webhook_secret"):
            self.instance.webhook_secret = ""
        elif data.get("new_webhook_secret"):
            self.instance.webhook_secret = data["new_webhook_secret"].strip()
        super()._post_clean()

    def _update_errors(self, errors):
        # The model names its secret fields; this form edits them through new_* fields.
        renames = {"access_token": "new_token", "webhook_secret": "new_webhook_secret"}
        if hasattr(errors, "error_dict"):
            errors.error_dict = {renames.get(k, k): v for k, v in errors.error_dict.items()}
        super()._update_errors(errors)
