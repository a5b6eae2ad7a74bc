"""Forms of the admin settings page."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import (
    DEFAULT_USER_PROPERTY_MAP,
    RETENTION_FIELDS,
    CredentialType,
    HubSpotSettings,
    mask_secret,
)
from .services import user_sync


def clean_token_value(value: str) -> str:
    """Any bearer value HubSpot issues: service keys have no documented format, so only what can
    never be a bearer token is refused here; the connection check proves the rest."""
    value = (value or "").strip()
    if value and any(ch.isspace() for ch in value):
        raise forms.ValidationError(
            gettext(
                "A HubSpot credential has no spaces or line breaks: copy the whole key or token "
                "again."
            )
        )
    if len(value) > 2048:
        raise forms.ValidationError(gettext("This is too long to be a HubSpot credential."))
    return value


CREDENTIAL_HELP = _(
    "New accounts: a service key (Development > Keys > Service keys). Webhooks (customers "
    "seeing ticket updates) need a project-based app: its static access token or Connect with "
    "HubSpot, and its client secret below. A legacy private-app token keeps working where one "
    "already exists; HubSpot no longer lets anyone create one."
)
TOKEN_CHOICES = [c for c in CredentialType.choices if c[0] != CredentialType.OAUTH]


# Numbers an older script's POST may leave out (the stored value stays), and what a blank one
# sent on purpose is told.
KEPT_IF_OMITTED = {
    **{name: _("Enter a number of days; 0 keeps them forever.") for name in RETENTION_FIELDS},
    "import_api_threshold_rows": _("Enter a number of rows; 0 always uses batch upserts."),
}


class SecretInput(forms.PasswordInput):
    """Never renders a value back: the stored secret is shown only as a mask beside the field."""

    def __init__(self, attrs=None):
        super().__init__(
            attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False
        )


class HubSpotSettingsForm(forms.ModelForm):
    new_token = forms.CharField(
        label=_("Service key or access token"),
        required=False,
        widget=SecretInput(),
        help_text=_("Leave blank to keep the stored token."),
    )
    clear_token = forms.BooleanField(label=_("Clear the stored token"), required=False)
    new_oauth_client_secret = forms.CharField(
        label=_("OAuth client secret"),
        required=False,
        widget=SecretInput(),
        help_text=_("The project-based app's client secret (Auth tab). Blank keeps it."),
    )
    clear_oauth_client_secret = forms.BooleanField(
        label=_("Clear the OAuth client secret"), required=False
    )
    new_webhook_secret = forms.CharField(
        label=_("Webhook client secret"),
        required=False,
        widget=SecretInput(),
        help_text=_("The client secret of the HubSpot app that sends webhooks. Blank keeps it."),
    )
    clear_webhook_secret = forms.BooleanField(label=_("Clear the webhook secret"), required=False)

    class Meta:
        model = HubSpotSettings
        fields = [
            "enabled",
            "portal_id",
            "credential_type",
            "oauth_client_id",
            "chat_enabled",
            "tickets_enabled",
            "ticket_form_id",
            "contact_form_id",
            "default_ticket_pipeline",
            "default_ticket_stage",
            "script_url_override",
            "wait_for_consent",
            "consent_text",
            "consent_communications_text",
            "consent_subscription_type_id",
            "rate_limit_per_10s",
            "dashboard_cache_seconds",
            "import_api_threshold_rows",
            "user_sync_enabled",
            "user_sync_from_hubspot",
            "user_property_map",
            *RETENTION_FIELDS,
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "credential_type" in self.fields:
            self.fields["credential_type"].help_text = CREDENTIAL_HELP
        if "user_property_map" in self.fields:
            # Omitted from a POST (scripts older than the mapping), the stored mapping stays.
            self.fields["user_property_map"].required = False
            fields = ", ".join(user_sync.mappable_fields())
            listed = gettext("User fields: %(fields)s.") % {"fields": fields}
            field = self.fields["user_property_map"]
            field.help_text = f"{field.help_text} {listed}"
        for name in KEPT_IF_OMITTED:
            if name in self.fields:
                # Omitted from a POST (scripts older than retention), the stored days stay: the
                # model field's default rule in construct_instance keeps the instance's value.
                self.fields[name].required = False
        unreadable = self.instance.undecryptable_fields
        if "access_token" in unreadable:
            self.fields["new_token"].help_text = gettext(
                "The stored token cannot be decrypted (see above): paste it again, or tick "
                "“Clear the stored token”. Blank keeps it for when its key is restored."
            )
        elif self.instance.access_token:
            masked = mask_secret(self.instance.access_token)
            self.fields["new_token"].help_text = gettext(
                "Stored: %(masked)s. Leave blank to keep it."
            ) % {"masked": masked}
        else:
            self.fields["new_token"].help_text = gettext(
                "No token is stored. Paste the service key, the app's static access token or "
                "the private-app token, whichever kind is chosen above."
            )
        for name, field in (
            ("webhook_secret", "new_webhook_secret"),
            ("oauth_client_secret", "new_oauth_client_secret"),
        ):
            if name in unreadable:
                self.fields[field].help_text = gettext(
                    "The stored secret cannot be decrypted (see above): enter it again, or "
                    "clear it. Blank keeps it for when its key is restored."
                )
            elif getattr(self.instance, name):
                self.fields[field].help_text = gettext("A secret is stored. Blank keeps it.")

    def clean_new_oauth_client_secret(self):
        return clean_token_value(self.cleaned_data.get("new_oauth_client_secret"))

    def clean_user_property_map(self):
        stored = self.instance.user_property_map
        widget = self.fields["user_property_map"].widget
        if widget.value_omitted_from_data(
            self.data, self.files, self.add_prefix("user_property_map")
        ):
            return stored  # not on the form that was posted: nothing to check
        value = self.cleaned_data.get("user_property_map") or dict(DEFAULT_USER_PROPERTY_MAP)
        problems = user_sync.mapping_problems(value, stored)
        if problems:
            raise forms.ValidationError(problems)
        return value

    def clean_new_token(self):
        return clean_token_value(self.cleaned_data.get("new_token"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_token") and cleaned.get("clear_token"):
            self.add_error(
                "clear_token", gettext("Either enter a new token or clear it, not both.")
            )
        for name, blank_message in KEPT_IF_OMITTED.items():
            field = self.fields.get(name)
            sent = field and not field.widget.value_omitted_from_data(
                self.data, self.files, self.add_prefix(name)
            )
            if sent and cleaned.get(name) is None and name not in self.errors:
                self.add_error(name, blank_message)
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
        if data.get("clear_oauth_client_secret"):
            self.instance.oauth_client_secret = ""
        elif data.get("new_oauth_client_secret"):
            self.instance.oauth_client_secret = data["new_oauth_client_secret"]
        super()._post_clean()

    def _update_errors(self, errors):
        # The model names its secret fields; this form edits them through new_* fields.
        renames = {
            "access_token": "new_token",
            "webhook_secret": "new_webhook_secret",
            "oauth_client_secret": "new_oauth_client_secret",
        }
        if hasattr(errors, "error_dict"):
            errors.error_dict = {renames.get(k, k): v for k, v in errors.error_dict.items()}
        super()._update_errors(errors)
