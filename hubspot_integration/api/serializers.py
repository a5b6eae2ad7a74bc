"""Serializers of the settings API. JSON keys are camelCase, as SkyPANEL's scripts expect."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from ..forms import TOKEN_CHOICES, clean_token_value
from ..models import (
    CredentialType,
    HubSpotSettings,
    RateLimitTier,
    digits_only,
    mask_secret,
    validate_uuid,
)
from ..services import user_sync
from ..tickets import service as tickets

# API key -> model field, for every writable setting.
FIELD_MAP = {
    "enabled": "enabled",
    "portalId": "portal_id",
    "credentialType": "credential_type",
    "oauthClientId": "oauth_client_id",
    "chatEnabled": "chat_enabled",
    "ticketEnabled": "tickets_enabled",
    "ticketFormId": "ticket_form_id",
    "contactFormId": "contact_form_id",
    "defaultTicketPipeline": "default_ticket_pipeline",
    "defaultTicketStage": "default_ticket_stage",
    "scriptUrlOverride": "script_url_override",
    "waitForConsent": "wait_for_consent",
    "consentText": "consent_text",
    "consentCommunicationsText": "consent_communications_text",
    "consentSubscriptionTypeId": "consent_subscription_type_id",
    "rateLimitPer10s": "rate_limit_per_10s",
    "dashboardCacheSeconds": "dashboard_cache_seconds",
    "importApiThresholdRows": "import_api_threshold_rows",
    "retentionOutboxDays": "retention_outbox_days",
    "retentionWebhookEventDays": "retention_webhook_event_days",
    "retentionCsvFileDays": "retention_csv_file_days",
    "retentionImportReportDays": "retention_import_report_days",
    "retentionAuditDays": "retention_audit_days",
    "userSyncEnabled": "user_sync_enabled",
    "userSyncFromHubspot": "user_sync_from_hubspot",
    "userPropertyMap": "user_property_map",
}
# Every secret by its API name (the OAuth tokens are set by connecting, never through the API).
SECRET_TO_API = {
    "access_token": "apiKey",
    "webhook_secret": "webhookSecret",
    "oauth_client_secret": "oauthClientSecret",
    "oauth_access_token": "oauthAccessToken",
    "oauth_refresh_token": "oauthRefreshToken",
}
MODEL_TO_API = {v: k for k, v in FIELD_MAP.items()} | SECRET_TO_API


def _django_validator(validator):
    def run(value):
        if value:
            try:
                validator(value)
            except DjangoValidationError as err:
                raise serializers.ValidationError(list(err.messages)) from None

    return run


def _token(value):
    try:
        return clean_token_value(value)
    except DjangoValidationError as err:
        raise serializers.ValidationError(list(err.messages)) from None


def _retention_days(what: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=36500,
        error_messages={
            "min_value": gettext_lazy("Enter a number of days: 0 (keep forever) or more."),
            "max_value": gettext_lazy(
                "Enter at most 36,500 days (100 years), or 0 to keep forever."
            ),
        },
        help_text=f"{what}: days kept before the sweep purges them; 0 keeps them forever.",
    )


class SettingsSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    portalId = serializers.CharField(
        required=False, allow_blank=True, max_length=20, validators=[_django_validator(digits_only)]
    )
    credentialType = serializers.ChoiceField(
        required=False,
        choices=[c.value for c in CredentialType],
        help_text=(
            "service_key, app_static_token or private_app: the kind of token in apiKey. "
            "oauth is set by connecting (Connect with HubSpot on the settings page), not here."
        ),
    )
    oauthClientId = serializers.CharField(required=False, allow_blank=True, max_length=100)
    oauthClientSecret = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        style={"input_type": "password"},
        help_text="Write-only: the project-based app's client secret. Blank keeps it.",
    )
    clearOauthClientSecret = serializers.BooleanField(required=False, write_only=True)
    apiKey = serializers.CharField(
        required=False,
        allow_blank=True,
        write_only=True,
        trim_whitespace=True,
        style={"input_type": "password"},
        help_text="Write-only. Omitted or blank keeps the stored token.",
    )
    clearApiKey = serializers.BooleanField(
        required=False, write_only=True, help_text="true removes the stored token."
    )
    webhookSecret = serializers.CharField(
        required=False, allow_blank=True, write_only=True, style={"input_type": "password"}
    )
    clearWebhookSecret = serializers.BooleanField(required=False, write_only=True)
    chatEnabled = serializers.BooleanField(required=False)
    ticketEnabled = serializers.BooleanField(required=False)
    ticketFormId = serializers.CharField(
        required=False, allow_blank=True, validators=[_django_validator(validate_uuid)]
    )
    contactFormId = serializers.CharField(
        required=False, allow_blank=True, validators=[_django_validator(validate_uuid)]
    )
    defaultTicketPipeline = serializers.CharField(required=False, allow_blank=True, max_length=64)
    defaultTicketStage = serializers.CharField(required=False, allow_blank=True, max_length=64)
    scriptUrlOverride = serializers.URLField(required=False, allow_blank=True)
    waitForConsent = serializers.BooleanField(required=False)
    consentText = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    consentCommunicationsText = serializers.CharField(
        required=False, allow_blank=True, max_length=2000
    )
    consentSubscriptionTypeId = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=2**53
    )
    rateLimitPer10s = serializers.ChoiceField(required=False, choices=RateLimitTier.choices)
    dashboardCacheSeconds = serializers.IntegerField(required=False, min_value=0, max_value=86400)
    importApiThresholdRows = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=100_000_000,
        error_messages={
            "min_value": gettext_lazy("Enter a number of rows; 0 always uses batch upserts."),
            "max_value": gettext_lazy(
                "Enter at most 100,000,000 rows, or 0 to never use HubSpot's imports API."
            ),
        },
        help_text="A CSV import with more data rows than this goes to HubSpot's CRM imports API "
        "in one upload (needs the crm.import scope); 0 always uses batch upserts of 100.",
    )
    retentionOutboxDays = _retention_days("Succeeded and discarded writes to HubSpot")
    retentionWebhookEventDays = _retention_days("Webhook events already applied")
    retentionCsvFileDays = _retention_days("A finished import's uploaded CSV file (not its record)")
    retentionImportReportDays = _retention_days("A finished import's record and row errors")
    retentionAuditDays = _retention_days("Settings audit entries")
    userSyncEnabled = serializers.BooleanField(
        required=False,
        help_text="Send customers with a confirmed address to HubSpot as contacts (upsert by email).",
    )
    userSyncFromHubspot = serializers.BooleanField(
        required=False,
        help_text="Apply HubSpot's changes of mapped contact properties (webhook "
        "contact.propertyChange) to the users; the email never comes from HubSpot.",
    )
    userPropertyMap = serializers.DictField(
        required=False,
        child=serializers.CharField(),
        help_text='User field -> HubSpot contact property, e.g. {"email": "email", "first_name": '
        '"firstname", "last_name": "lastname"}. A property HubSpot does not have, or a read-only '
        "one, is refused (400 naming userPropertyMap).",
    )

    # Read-only facts.
    hasApiKey = serializers.BooleanField(read_only=True)
    apiKeyMasked = serializers.CharField(read_only=True)
    hasWebhookSecret = serializers.BooleanField(read_only=True)
    hasOauthClientSecret = serializers.BooleanField(read_only=True)
    oauthConnected = serializers.BooleanField(read_only=True)
    oauthExpiresAt = serializers.DateTimeField(read_only=True, allow_null=True)
    oauthError = serializers.CharField(read_only=True)
    dataHostingRegion = serializers.CharField(read_only=True)
    uiDomain = serializers.CharField(read_only=True)
    lastCheckAt = serializers.DateTimeField(read_only=True, allow_null=True)
    lastCheckOk = serializers.BooleanField(read_only=True, allow_null=True)
    undecryptableSecrets = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SECRET_TO_API.values())),
        read_only=True,
        help_text=(
            "Secrets stored under a key HUBSPOT_ENCRYPTION_KEYS no longer holds: each reads as "
            "not set and is kept unchanged by updates. Restore the key, or re-enter the secret "
            "(apiKey, webhookSecret, oauthClientSecret) or clear it (clearApiKey, ...); the OAuth "
            "tokens are replaced by disconnecting and connecting again on the settings page."
        ),
    )

    def validate_apiKey(self, value):
        return _token(value)

    def validate_oauthClientSecret(self, value):
        return _token(value)

    def validate_credentialType(self, value):
        if value not in dict(TOKEN_CHOICES):
            raise serializers.ValidationError(
                _(
                    "oauth cannot be set here: press Connect with HubSpot on the HubSpot settings "
                    "page, which sets it once HubSpot has authorised the app."
                )
            )
        return value

    def to_representation(self, instance: HubSpotSettings):
        data = {api: getattr(instance, field) for api, field in FIELD_MAP.items()}
        data.update(
            hasApiKey=bool(instance.access_token),
            apiKeyMasked=mask_secret(instance.access_token),
            hasWebhookSecret=bool(instance.webhook_secret),
            hasOauthClientSecret=bool(instance.oauth_client_secret),
            oauthConnected=bool(instance.oauth_refresh_token),
            oauthExpiresAt=(
                instance.oauth_expires_at.isoformat() if instance.oauth_expires_at else None
            ),
            oauthError=instance.oauth_error,
            dataHostingRegion=instance.data_hosting_region,
            uiDomain=instance.ui_domain,
            lastCheckAt=instance.last_check_at.isoformat() if instance.last_check_at else None,
            lastCheckOk=instance.last_check_ok,
            undecryptableSecrets=[SECRET_TO_API[n] for n in instance.undecryptable_fields],
        )
        return data

    def apply(self, instance: HubSpotSettings) -> HubSpotSettings:
        """Copy the validated values onto the instance, then let the model validate the whole."""
        data = self.validated_data
        before = (instance.default_ticket_pipeline, instance.default_ticket_stage)
        before_map = instance.user_property_map
        for api, field in FIELD_MAP.items():
            if api in data:
                setattr(instance, field, data[api])
        after = (instance.default_ticket_pipeline, instance.default_ticket_stage)
        if after != before:
            # Refused now, not when every customer request later fails on it.
            problems = tickets.default_pipeline_problems(*after)
            if problems:
                raise serializers.ValidationError(
                    {MODEL_TO_API.get(k, k): [v] for k, v in problems.items()}
                )
        if "userPropertyMap" in data:
            problems = user_sync.mapping_problems(data["userPropertyMap"], before_map)
            if problems:
                raise serializers.ValidationError({"userPropertyMap": problems})
        if data.get("clearApiKey"):
            instance.access_token = ""
        elif data.get("apiKey"):
            instance.access_token = data["apiKey"]
            if "credentialType" not in data and instance.uses_oauth:
                # A token sent on its own means "use this token", not the OAuth connection.
                instance.credential_type = CredentialType.SERVICE_KEY
        if data.get("clearWebhookSecret"):
            instance.webhook_secret = ""
        elif data.get("webhookSecret"):
            instance.webhook_secret = data["webhookSecret"]
        if data.get("clearOauthClientSecret"):
            instance.oauth_client_secret = ""
        elif data.get("oauthClientSecret"):
            instance.oauth_client_secret = data["oauthClientSecret"]
        try:
            instance.full_clean()
        except DjangoValidationError as err:
            raise serializers.ValidationError(
                {MODEL_TO_API.get(k, k): v for k, v in err.message_dict.items()}
            ) from None
        return instance


class CheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    message = serializers.CharField()


class ConnectionReportSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    checks = CheckSerializer(many=True)
    account = serializers.DictField()
