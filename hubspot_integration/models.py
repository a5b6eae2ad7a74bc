"""Database models: the singleton settings, the audit log, the outbox and the local records."""

import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .actor import current_actor, is_superuser
from .conf import app_settings
from .crm import registry as crm_registry
from .crm.models import AdminPage
from .fields import EncryptedTextField, Undecryptable
from .singleton import SingletonModel

SETTINGS_CACHE_KEY = "hubspot:settings:v1"

digits_only = RegexValidator(r"^\d+$", _("Enter the portal ID as digits only, e.g. 12345678."))


def validate_uuid(value: str) -> None:
    try:
        uuid.UUID(str(value))
    except ValueError:
        raise ValidationError(
            _("Enter a HubSpot form ID: a UUID like 1a2b3c4d-0000-4000-8000-123456789abc.")
        ) from None


# HubSpot's tracking-code loader: js.hs-scripts.com (na1) or js-<region>.hs-scripts.com.
HUBSPOT_SCRIPT_HOST = re.compile(r"^js(-[a-z]{2}\d{1,2})?\.hs-scripts\.com$")
HUBSPOT_SCRIPT_PATH = re.compile(r"^/(\d{1,20})\.js$")


def is_hubspot_script_host(url: str) -> bool:
    """True when `url` is https on one of HubSpot's own script hosts (path not judged)."""
    try:
        parts = urlsplit(str(url or "").strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return False
    return bool(
        parts.scheme == "https"
        and HUBSPOT_SCRIPT_HOST.match(host)
        and port is None
        and not parts.username
        and not parts.password
    )


def validate_script_url_override(value: str, *, portal_id: str, actor, stored: str = "") -> None:
    """The tracking-script URL override, judged for the person saving it.

    The Content-Security-Policy lets the override's host run script on every customer page, the
    superusers' own sessions included. So anyone who may change the settings can point it at
    HubSpot's loader for this portal (`https://js[-<region>].hs-scripts.com/<portal ID>.js`), but
    only a superuser can name any other (https) host. A value already stored stays acceptable to
    whoever saves the settings next (they may also clear it); changing it is judged anew.
    """
    value = str(value or "").strip()
    if not value:
        return
    field = "script_url_override"
    try:
        parts = urlsplit(value)
        host, _port = parts.hostname or "", parts.port  # .port raises on a bad port
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme != "https" or not host or parts.username or parts.password:
        raise ValidationError(
            {field: _("Enter an https:// URL without a user name or password, or leave it blank.")}
        )
    if HUBSPOT_SCRIPT_HOST.match(host):
        match = HUBSPOT_SCRIPT_PATH.match(parts.path)
        portal = str(portal_id or "").strip()
        if (
            not is_hubspot_script_host(value)
            or not match
            or parts.query
            or parts.fragment
            or (portal and match.group(1) != portal)
        ):
            raise ValidationError(
                {
                    field: _(
                        "HubSpot's tracking script for this account is "
                        "https://js.hs-scripts.com/%(portal)s.js (or the js-eu1, "
                        "js-na2, js-ap1 ... host of its region): the same portal ID, nothing else "
                        "in the URL."
                    )
                    % {"portal": portal or _("<portal ID>")}
                }
            )
        return
    if value == str(stored or "").strip():
        return
    if not is_superuser(actor):
        raise ValidationError(
            {
                field: _(
                    "Only HubSpot's own script hosts (js.hs-scripts.com, js-eu1.hs-scripts.com, "
                    "...) can be set here. A script from another host runs on every customer "
                    "page, so only a superuser can configure one."
                )
            }
        )


MAX_RETENTION_DAYS = MaxValueValidator(
    36500, _("Enter at most 36,500 days (100 years), or 0 to keep forever.")
)
RETENTION_FIELDS = (
    "retention_outbox_days",
    "retention_webhook_event_days",
    "retention_csv_file_days",
    "retention_import_report_days",
    "retention_audit_days",
)


def default_import_api_threshold() -> int:
    return app_settings.IMPORT_API_THRESHOLD_ROWS


MAX_IMPORT_API_THRESHOLD = MaxValueValidator(
    100_000_000, _("Enter at most 100,000,000 rows, or 0 to never use HubSpot's imports API.")
)


# Site user field -> HubSpot contact property; email is the key every sync upserts by.
DEFAULT_USER_PROPERTY_MAP = {"email": "email", "first_name": "firstname", "last_name": "lastname"}


def default_user_property_map() -> dict:
    return dict(DEFAULT_USER_PROPERTY_MAP)


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class RateLimitTier(models.IntegerChoices):
    FREE_STARTER = 100, _("100 calls / 10 s (Free, Starter)")
    PROFESSIONAL = 190, _("190 calls / 10 s (Professional, Enterprise)")
    INCREASE_PACK = 200, _("200 calls / 10 s (API limit increase pack, before 2026)")
    CAPACITY_PACK = 250, _("250 calls / 10 s (API capacity pack)")


class CredentialType(models.TextChoices):
    """Every kind of credential HubSpot issues for one account (see the README for which to use)."""

    SERVICE_KEY = "service_key", _("Service key (recommended for new accounts; no webhooks)")
    APP_STATIC_TOKEN = "app_static_token", _("Project-based app: static access token")
    PRIVATE_APP = "private_app", _("Legacy private app token (existing apps only)")
    OAUTH = "oauth", _("Project-based app: OAuth connection (Connect with HubSpot)")


class HubSpotSettings(SingletonModel):
    """The one row of HubSpot settings. Read it with `HubSpotSettings.load()`; edit the row from
    `HubSpotSettings.get_solo(for_update=True)`."""

    SINGLETON_PK = SingletonModel.singleton_pk
    SECRET_FIELDS = (
        "access_token",
        "webhook_secret",
        "oauth_client_secret",
        "oauth_access_token",
        "oauth_refresh_token",
    )

    enabled = models.BooleanField(_("HubSpot enabled"), default=False)
    portal_id = models.CharField(
        _("portal ID"), max_length=20, blank=True, validators=[digits_only]
    )
    credential_type = models.CharField(
        _("credential kind"),
        max_length=20,
        choices=CredentialType.choices,
        default=CredentialType.SERVICE_KEY,
    )
    # The service key, app static token or private-app token: whichever `credential_type` names
    # (OAuth keeps its own pair below). The column name predates service keys.
    access_token = EncryptedTextField(_("access token"), blank=True, default="")
    oauth_client_id = models.CharField(_("OAuth client ID"), max_length=100, blank=True)
    oauth_client_secret = EncryptedTextField(_("OAuth client secret"), blank=True, default="")
    oauth_access_token = EncryptedTextField(_("OAuth access token"), blank=True, default="")
    oauth_refresh_token = EncryptedTextField(_("OAuth refresh token"), blank=True, default="")
    oauth_expires_at = models.DateTimeField(_("OAuth access token expires"), null=True, blank=True)
    oauth_scopes = models.JSONField(_("OAuth scopes granted"), default=list, blank=True)
    oauth_connected_at = models.DateTimeField(_("connected with HubSpot"), null=True, blank=True)
    oauth_error = models.TextField(
        _("OAuth problem"),
        blank=True,
        help_text=_("Set when HubSpot refuses to refresh the connection: reconnect to clear it."),
    )
    chat_enabled = models.BooleanField(_("live chat enabled"), default=False)
    tickets_enabled = models.BooleanField(_("tickets enabled"), default=False)
    ticket_form_id = models.CharField(
        _("ticket form ID"), max_length=36, blank=True, validators=[validate_uuid]
    )
    contact_form_id = models.CharField(
        _("contact form ID"), max_length=36, blank=True, validators=[validate_uuid]
    )
    default_ticket_pipeline = models.CharField(
        _("default ticket pipeline"), max_length=64, blank=True
    )
    default_ticket_stage = models.CharField(_("default ticket stage"), max_length=64, blank=True)
    data_hosting_region = models.CharField(
        _("data-hosting region"),
        max_length=16,
        blank=True,
        help_text=_("Found by the connection check (na1, eu1, ...); decides the chat script host."),
    )
    ui_domain = models.CharField(
        _("HubSpot UI domain"),
        max_length=100,
        blank=True,
        help_text=_("Found by the connection check."),
    )
    script_url_override = models.URLField(
        _("tracking script URL override"),
        blank=True,
        help_text=_("Leave blank to use the host of the account's region."),
    )
    wait_for_consent = models.BooleanField(
        _("wait for cookie consent"),
        default=False,
        help_text=_("Hold the tracking script back until the visitor accepts cookies."),
    )
    # Consent (services/consent.py): with a processing text set, the contact form asks for it and
    # each form submission carries HubSpot's `legalConsentOptions` with the text the visitor saw.
    consent_text = models.TextField(
        _("consent to process text"),
        blank=True,
        help_text=_(
            "E.g. “I agree that SkyPanel stores and processes my personal data.” Blank "
            "sends no consent options."
        ),
    )
    consent_communications_text = models.TextField(
        _("consent to communications text"),
        blank=True,
        help_text=_("Optional: the checkbox text for the subscription type below."),
    )
    consent_subscription_type_id = models.PositiveBigIntegerField(
        _("communications subscription type ID"),
        null=True,
        blank=True,
        help_text=_("The HubSpot subscription type the communications checkbox subscribes to."),
    )
    webhook_secret = EncryptedTextField(_("webhook client secret"), blank=True, default="")
    rate_limit_per_10s = models.PositiveIntegerField(
        _("API calls per 10 seconds"),
        choices=RateLimitTier.choices,
        default=RateLimitTier.FREE_STARTER,
        help_text=_("Used until HubSpot's own X-HubSpot-RateLimit-Max header tells the panel."),
    )
    dashboard_cache_seconds = models.PositiveIntegerField(
        _("dashboard cache (seconds)"), default=300
    )
    # Retention (services/retention.py, run by the sweep): days each kind of record is kept once
    # it is finished; 0 keeps it forever. Capped at 100 years so a cut-off date always exists.
    retention_outbox_days = models.PositiveIntegerField(
        _("keep finished outbox writes (days)"),
        default=90,
        validators=[MAX_RETENTION_DAYS],
        help_text=_(
            "Succeeded and discarded writes, counted from when they finished. Pending, "
            "running and failed writes are never purged. 0 keeps them forever."
        ),
    )
    retention_webhook_event_days = models.PositiveIntegerField(
        _("keep webhook events (days)"),
        default=30,
        validators=[MAX_RETENTION_DAYS],
        help_text=_(
            "Applied events, counted from when they were applied; an event not yet applied "
            "is never purged. 0 keeps them forever."
        ),
    )
    retention_csv_file_days = models.PositiveIntegerField(
        _("keep uploaded CSV files (days)"),
        default=7,
        validators=[MAX_RETENTION_DAYS],
        help_text=_(
            "The uploaded file of a finished import is deleted from storage; the import's "
            "summary stays. 0 keeps the files forever."
        ),
    )
    retention_import_report_days = models.PositiveIntegerField(
        _("keep import reports (days)"),
        default=90,
        validators=[MAX_RETENTION_DAYS],
        help_text=_(
            "A finished import's record (its summary and row errors). Queued and running "
            "imports are never purged. 0 keeps them forever."
        ),
    )
    retention_audit_days = models.PositiveIntegerField(
        _("keep settings audit entries (days)"),
        default=365,
        validators=[MAX_RETENTION_DAYS],
        help_text=_("0 keeps the audit log forever."),
    )
    # CSV imports (services/import_api.py): a bigger file is handed to HubSpot's imports API.
    import_api_threshold_rows = models.PositiveIntegerField(
        _("imports API above (rows)"),
        default=default_import_api_threshold,
        validators=[MAX_IMPORT_API_THRESHOLD],
        help_text=_(
            "A CSV import with more data rows than this is uploaded to HubSpot's CRM imports "
            "API in one call (needs the crm.import scope) instead of batch upserts of 100 "
            "contacts. 0 always uses batch upserts."
        ),
    )
    # Site users as HubSpot contacts (services/user_sync.py).
    user_sync_enabled = models.BooleanField(
        _("send site users to HubSpot"),
        default=True,
        help_text=_(
            "A customer's confirmed address, and each later change of a mapped field, is "
            "upserted to the HubSpot contact with that email."
        ),
    )
    user_sync_from_hubspot = models.BooleanField(
        _("apply HubSpot's contact changes to site users"),
        default=False,
        help_text=_(
            "A change of a mapped property made in HubSpot (webhook contact.propertyChange) "
            "updates the user's field. The email is never changed from HubSpot."
        ),
    )
    user_property_map = models.JSONField(
        _("user fields mapped to contact properties"),
        default=default_user_property_map,
        blank=True,
        help_text=_(
            'User field to HubSpot contact property, e.g. {"email": "email", '
            '"first_name": "firstname", "last_name": "lastname"}. Checked against HubSpot\'s '
            "contact properties when saved."
        ),
    )
    last_check_at = models.DateTimeField(_("last connection check"), null=True, blank=True)
    last_check_ok = models.BooleanField(_("last check passed"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("HubSpot settings")
        verbose_name_plural = _("HubSpot settings")
        permissions = [
            ("test_connection", "Can test the HubSpot connection"),
            ("manage_contacts", "Can find, create and edit HubSpot contacts"),
            ("import_contacts", "Can import HubSpot contacts from CSV"),
            ("manage_tickets", "Can find, create and edit HubSpot tickets"),
            ("view_crm_dashboard", "Can view the HubSpot CRM dashboard"),
            # Irreversible, in HubSpot and here: the admins' group holds it, not staff.
            ("gdpr_delete_contacts", "Can GDPR-delete a HubSpot contact and its account"),
        ]

    def __str__(self) -> str:
        return gettext("HubSpot settings")

    # --- singleton -----------------------------------------------------------------------------
    @classmethod
    def cache_key(cls) -> str:
        return SETTINGS_CACHE_KEY

    def _snapshot_value(self, field, value):
        # Secrets stay encrypted in the cache: Redis or the cache directory never sees plaintext.
        if field.name in self.SECRET_FIELDS:
            return field.get_prep_value(value)
        return value

    @classmethod
    def _from_snapshot(cls, snapshot: dict) -> "HubSpotSettings":
        values = dict(snapshot)
        for name in cls.SECRET_FIELDS:
            field = cls._meta.get_field(name)
            values[field.attname] = field.from_db_value(values.get(field.attname), None, None)
        obj = super()._from_snapshot(values)
        obj._stored_script_url = obj.script_url_override
        return obj

    # --- validation ----------------------------------------------------------------------------
    @classmethod
    def from_db(cls, db, field_names, values):
        obj = super().from_db(db, field_names, values)
        obj._stored_script_url = obj.__dict__.get("script_url_override", "")
        return obj

    def clean(self):
        errors = {}
        if self.enabled and not self.portal_id:
            errors["portal_id"] = _("Enter the portal ID before enabling HubSpot.")
        # A credential only the lost key opens is still stored: the switch stays as the admin set
        # it, and every call says what is wrong (credentials.bearer_source) until it opens again.
        if self.enabled and not self.has_token and not self.undecryptable_credential:
            if self.uses_oauth:
                errors["access_token"] = _(
                    "Connect with HubSpot (OAuth) before enabling HubSpot, or choose another "
                    "credential kind and enter its token."
                )
            else:
                errors["access_token"] = _("Enter the %(credential)s before enabling HubSpot.") % {
                    "credential": self.credential_label
                }
        try:
            # Who saves decides what is allowed (actor.py); the settings service checks again
            # against the locked row with the actor it is given.
            validate_script_url_override(
                self.script_url_override,
                portal_id=self.portal_id,
                actor=current_actor(),
                stored=getattr(self, "_stored_script_url", ""),
            )
        except ValidationError as err:
            errors.update(err.message_dict)
        errors.update(self._consent_errors())
        if errors:
            raise ValidationError(errors)

    def _consent_errors(self) -> dict:
        errors = {}
        has_text = bool((self.consent_communications_text or "").strip())
        has_type = self.consent_subscription_type_id is not None
        if (has_text or has_type) and not (self.consent_text or "").strip():
            errors["consent_text"] = _("Enter the consent to process text first.")
        if has_text != has_type:
            field = "consent_subscription_type_id" if has_text else "consent_communications_text"
            errors[field] = _("The communications text and subscription type ID go together.")
        return errors

    # --- derived values ------------------------------------------------------------------------
    @property
    def uses_oauth(self) -> bool:
        return self.credential_type == CredentialType.OAUTH

    @property
    def credential_label(self) -> str:
        return {
            CredentialType.SERVICE_KEY: gettext("service key"),
            CredentialType.APP_STATIC_TOKEN: gettext("app's static access token"),
            CredentialType.PRIVATE_APP: gettext("private-app token"),
            CredentialType.OAUTH: gettext("OAuth connection"),
        }.get(self.credential_type, gettext("access token"))

    @property
    def has_token(self) -> bool:
        """Whether a credential of the chosen kind is stored (OAuth: a refresh token)."""
        if self.uses_oauth:
            return bool(self.oauth_refresh_token)
        return bool(self.access_token)

    @property
    def masked_token(self) -> str:
        if self.uses_oauth:
            return mask_secret(self.oauth_access_token or self.oauth_refresh_token)
        return mask_secret(self.access_token)

    @property
    def is_configured(self) -> bool:
        return bool(self.enabled and self.portal_id and self.has_token)

    # --- secrets no configured key opens --------------------------------------------------------
    @property
    def undecryptable_fields(self) -> list[str]:
        """The secret fields written under a key HUBSPOT_ENCRYPTION_KEYS no longer holds: each
        reads as empty (fields.Undecryptable) and is written back unchanged on save."""
        return [n for n in self.SECRET_FIELDS if isinstance(getattr(self, n), Undecryptable)]

    @property
    def credential_fields(self) -> tuple[str, ...]:
        """The secrets a HubSpot call needs with the chosen kind (OAuth refreshes its access
        token with the refresh token and the client secret)."""
        if self.uses_oauth:
            return ("oauth_refresh_token", "oauth_client_secret")
        return ("access_token",)

    @property
    def undecryptable_credential(self) -> list[str]:
        unreadable = self.undecryptable_fields
        return [name for name in self.credential_fields if name in unreadable]

    @classmethod
    def secret_label(cls, name: str) -> str:
        return str(cls._meta.get_field(name).verbose_name)

    def undecryptable_message(self, names: list[str] | None = None) -> str:
        """One line naming the unreadable secrets and the two ways out; never a value."""
        names = self.undecryptable_fields if names is None else names
        if not names:
            return ""
        labels = [self.secret_label(name) for name in names]
        return ngettext(
            "The stored %(listed)s cannot be decrypted: none of the keys in "
            "HUBSPOT_ENCRYPTION_KEYS opens it. Restore the key it was written with, or clear "
            "and re-enter it on the HubSpot settings page.",
            "The stored %(listed)s cannot be decrypted: none of the keys in "
            "HUBSPOT_ENCRYPTION_KEYS opens them. Restore the key they were written with, or "
            "clear and re-enter them on the HubSpot settings page.",
            len(labels),
        ) % {"listed": list_words(labels)}


def list_words(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    words = [str(w) for w in words]
    if len(words) == 1:
        return words[0]
    return gettext("%(items)s and %(last)s") % {"items": ", ".join(words[:-1]), "last": words[-1]}


def mask_secret(secret: str) -> str:
    """The first 4 and last 4 characters, whatever the format (`pat-…1234`, `abcd…wxyz`): enough
    to recognise which credential is stored, never enough to use it. A secret too short to hide
    its middle is shown as dots only."""
    if not secret:
        return ""
    if len(secret) < 16:
        return "••••"
    return f"{secret[:4]}…{secret[-4:]}"


class SettingsAuditEntry(models.Model):
    """Who changed which settings, when. Secret values are never recorded, only that they changed."""

    at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("at"))
    actor = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(max_length=150, blank=True, verbose_name=_("actor name"))
    source = models.CharField(
        max_length=20, help_text=_("admin, api, command or system"), verbose_name=_("source")
    )
    action = models.CharField(max_length=40, default="update", verbose_name=_("action"))
    changed_fields = models.JSONField(default=list, verbose_name=_("changed fields"))
    summary = models.TextField(blank=True, verbose_name=_("summary"))

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("settings audit entry")
        verbose_name_plural = _("settings audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'system'}: {self.summary}"


class OutboxOperation(models.Model):
    """A write to HubSpot, recorded before it is attempted so that nothing a person typed is lost."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        DISCARDED = "discarded", _("Discarded")

    class Kind(models.TextChoices):
        CREATE_CONTACT = "create_contact", _("Create contact")
        UPDATE_CONTACT = "update_contact", _("Update contact")
        ARCHIVE_CONTACT = "archive_contact", _("Archive contact")
        CREATE_TICKET = "create_ticket", _("Create ticket")
        UPDATE_TICKET = "update_ticket", _("Update ticket")
        IMPORT_BATCH = "import_batch", _("Import batch")
        SUBMIT_FORM = "submit_form", _("Submit form")
        GDPR_DELETE_CONTACT = "gdpr_delete_contact", _("GDPR-delete contact")
        SYNC_USER_CONTACT = "sync_user_contact", _("Sync site user to contact")
        REPLY_TO_THREAD = "reply_to_thread", _("Reply to chat thread")
        SET_THREAD_STATUS = "set_thread_status", _("Close or reopen chat thread")

    # The kinds above, and the writes of every registered object type (create_company, ...).
    KIND_CHOICES = list(
        dict(Kind.choices + crm_registry.outbox_kind_choices()).items()  # one entry per kind
    )
    kind = models.CharField(max_length=32, choices=KIND_CHOICES, verbose_name=_("kind"))
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
        verbose_name=_("status"),
    )
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    idempotency_key = models.CharField(
        max_length=64, unique=True, default=new_idempotency_key, verbose_name=_("idempotency key")
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("next attempt at")
    )
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    last_error_kind = models.CharField(max_length=32, blank=True, verbose_name=_("last error kind"))
    correlation_id = models.CharField(_("HubSpot correlation ID"), max_length=64, blank=True)
    hubspot_object_id = models.CharField(
        max_length=32, blank=True, verbose_name=_("HubSpot object ID")
    )
    result = models.JSONField(default=dict, blank=True, verbose_name=_("result"))
    requested_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("HubSpot outbox operation")
        verbose_name_plural = _("HubSpot outbox")
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


class ContactImport(models.Model):
    """A CSV import run: its progress is polled by the admin page while a worker streams the file."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file = models.FileField(upload_to="imports/", verbose_name=_("file"))
    original_name = models.CharField(max_length=255, blank=True, verbose_name=_("original name"))
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.QUEUED, verbose_name=_("status")
    )
    total_rows = models.PositiveIntegerField(default=0, verbose_name=_("total rows"))
    processed_rows = models.PositiveIntegerField(default=0, verbose_name=_("processed rows"))
    created_count = models.PositiveIntegerField(default=0, verbose_name=_("created count"))
    updated_count = models.PositiveIntegerField(default=0, verbose_name=_("updated count"))
    rejected_count = models.PositiveIntegerField(default=0, verbose_name=_("rejected count"))
    failed_count = models.PositiveIntegerField(default=0, verbose_name=_("failed count"))
    errors = models.JSONField(default=list, blank=True, verbose_name=_("errors"))
    requested_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    # The reader's lease (services/imports.py): which run reads the file, its last sign of life,
    # and how far it got, so the sweep can read on from there when a worker died.
    reader_run = models.PositiveIntegerField(default=0, verbose_name=_("reader run"))
    heartbeat_at = models.DateTimeField(null=True, blank=True, verbose_name=_("heartbeat at"))
    read_through_line = models.PositiveIntegerField(
        default=0,
        help_text=_("Every row up to this line is in a batch or counted as rejected."),
        verbose_name=_("read through line"),
    )
    rejected_through_line = models.PositiveIntegerField(
        default=0,
        help_text=_("Every rejected row up to this line is counted."),
        verbose_name=_("rejected through line"),
    )
    read_finished_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("read finished at")
    )
    # Set when the file went to HubSpot's imports API (services/import_api.py): HubSpot's import
    # ID and last reported state; the worker polls it until HubSpot is done.
    hubspot_import_id = models.CharField(
        max_length=32, blank=True, verbose_name=_("HubSpot import ID")
    )
    hubspot_state = models.CharField(max_length=16, blank=True, verbose_name=_("HubSpot state"))
    poll_failures = models.PositiveIntegerField(default=0, verbose_name=_("poll failures"))
    note = models.TextField(
        blank=True,
        help_text=_("How the file was imported, for the report."),
        verbose_name=_("note"),
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")

    def __str__(self) -> str:
        return gettext("Import %(name)s (%(status)s)") % {
            "name": self.original_name or self.pk,
            "status": self.get_status_display(),
        }


class CustomerTicket(models.Model):
    """The panel's own record of a ticket a customer sent, kept current by webhooks."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")  # recorded; HubSpot may not have it yet
        # The `ticketState` of its stage in HubSpot (services/pipelines.py: `stage_state`).
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        DELETED = "deleted", _("Deleted in HubSpot")

    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="hubspot_tickets",
        verbose_name=_("user"),
    )
    email = models.EmailField(verbose_name=_("email"))
    subject = models.CharField(max_length=255, verbose_name=_("subject"))
    # What the customer wrote, as they wrote it: their ticket page shows it, and the outbox
    # payload that also holds it is purged by retention.
    content = models.TextField(blank=True, verbose_name=_("content"))
    priority = models.CharField(max_length=16, blank=True, verbose_name=_("priority"))
    hubspot_id = models.CharField(
        max_length=32, blank=True, db_index=True, verbose_name=_("HubSpot ID")
    )
    pipeline = models.CharField(max_length=64, blank=True, verbose_name=_("pipeline"))
    stage = models.CharField(max_length=64, blank=True, verbose_name=_("stage"))
    stage_label = models.CharField(max_length=120, blank=True, verbose_name=_("stage label"))
    status = models.CharField(
        max_length=32, choices=Status.choices, default=Status.SUBMITTED, verbose_name=_("status")
    )
    operation = models.OneToOneField(
        OutboxOperation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket",
        verbose_name=_("operation"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("customer ticket")
        verbose_name_plural = _("customer tickets")

    def __str__(self) -> str:
        return f"{self.subject} ({self.hubspot_id or 'pending'})"


class TicketNotification(models.Model):
    """One email owed to a customer about a change to their ticket (services/ticket_notifications).

    `key` names what caused it (a webhook event's ID, or one "sync now" change): the unique pair
    makes a redelivered event or a repeated sync record nothing new, so nothing is sent twice. The
    row is the record of what is due: a lost task or a failed send leaves it pending for the sweep.
    """

    class Kind(models.TextChoices):
        STAGE = "stage", _("Stage changed")
        CLOSED = "closed", _("Closed")
        DELETED = "deleted", _("Deleted in HubSpot")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Not sent (no verified address or switched off)")
        FAILED = "failed", _("Failed")

    ticket = models.ForeignKey(
        CustomerTicket,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("ticket"),
    )
    key = models.CharField(max_length=100, verbose_name=_("key"))
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    # The stage as it was when the change happened: a later change must not rewrite this email.
    stage_label = models.CharField(max_length=120, blank=True, verbose_name=_("stage label"))
    status = models.CharField(
        max_length=16,
        choices=Status.choices,
        default=Status.PENDING,
        db_index=True,
        verbose_name=_("status"),
    )
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(default=timezone.now, verbose_name=_("next attempt at"))
    locked_until = models.DateTimeField(null=True, blank=True, verbose_name=_("locked until"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("ticket notification")
        verbose_name_plural = _("ticket notifications")
        constraints = [
            models.UniqueConstraint(fields=["ticket", "key"], name="ticket_notification_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} email for ticket {self.ticket_id} ({self.status})"


class CustomerEmail(models.Model):
    """The address a customer proved is theirs by opening the link sent to it.

    The chat identifies a customer, and support files their requests on a HubSpot contact, by this
    address only while it is still the account's email: changing the account's email leaves this
    row naming the old one, so the account is unverified until the new address is confirmed."""

    user = models.OneToOneField(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="customer_email",
        verbose_name=_("user"),
    )
    email = models.EmailField(_("verified address"))
    verified_at = models.DateTimeField(default=timezone.now, verbose_name=_("verified at"))

    class Meta:
        verbose_name = _("verified customer email")
        verbose_name_plural = _("verified customer emails")

    def __str__(self) -> str:
        return f"{self.email} (verified {self.verified_at:%Y-%m-%d})"


class CustomerProfile(models.Model):
    """A user's own choices on the account page (services/profiles.py).

    `ticket_emails`: whether ticket status emails are sent to this user (default on; the ticket
    notifications read it). `language`: the language the site and their emails speak to them in
    ("" = as their browser says). `pending_email`: a new address asked for on the account page and not
    yet confirmed; the account keeps its current address until the link sent here is opened."""

    user = models.OneToOneField(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="customer_profile",
        verbose_name=_("user"),
    )
    ticket_emails = models.BooleanField(_("emails about my tickets"), default=True)
    pending_email = models.EmailField(_("new address to confirm"), blank=True)
    pending_email_requested_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("pending email requested at")
    )
    # A code of settings.LANGUAGES, or "" to follow the browser (language.py applies it).
    language = models.CharField(_("language"), max_length=10, blank=True, default="")

    class Meta:
        verbose_name = _("customer profile")
        verbose_name_plural = _("customer profiles")

    def __str__(self) -> str:
        return f"profile of user {self.user_id}"


class ConsentRecord(models.Model):
    """A signed-in customer's answer to the cookie banner: what they chose, when, and which
    wording they answered (a hash of the banner's text, so a reworded banner is a new version)."""

    class Choice(models.TextChoices):
        ACCEPT = "accept", _("Accepted")
        DECLINE = "decline", _("Declined")

    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="consent_records",
        verbose_name=_("user"),
    )
    subject = models.CharField(max_length=32, default="cookies", verbose_name=_("subject"))
    choice = models.CharField(max_length=16, choices=Choice.choices, verbose_name=_("choice"))
    text_version = models.CharField(max_length=32, verbose_name=_("text version"))
    recorded_at = models.DateTimeField(default=timezone.now, verbose_name=_("recorded at"))

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")

    def __str__(self) -> str:
        return f"{self.subject}: {self.choice} ({self.recorded_at:%Y-%m-%d})"


class HubSpotUserContact(models.Model):
    """The HubSpot contact a site user was last sent to, and a digest of what was sent, so a save
    that changes no mapped field costs no HubSpot call (no copy of the values is kept here)."""

    user = models.OneToOneField(
        django_settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="hubspot_contact",
        verbose_name=_("user"),
    )
    contact_id = models.CharField(_("HubSpot contact ID"), max_length=32, blank=True, db_index=True)
    email = models.EmailField(_("synced under address"), blank=True)
    synced_digest = models.CharField(max_length=64, blank=True, verbose_name=_("synced digest"))
    synced_at = models.DateTimeField(null=True, blank=True, verbose_name=_("synced at"))

    class Meta:
        verbose_name = _("site user's HubSpot contact")
        verbose_name_plural = _("site users' HubSpot contacts")

    def __str__(self) -> str:
        return f"user {self.user_id} -> contact {self.contact_id or '?'}"


class WebhookEvent(models.Model):
    """A HubSpot webhook event already received: redeliveries of the same event ID change nothing."""

    event_id = models.CharField(max_length=64, unique=True, verbose_name=_("event ID"))
    subscription_type = models.CharField(max_length=64, verbose_name=_("subscription type"))
    object_id = models.CharField(max_length=32, blank=True, verbose_name=_("object ID"))
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    received_at = models.DateTimeField(auto_now_add=True, verbose_name=_("received at"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.subscription_type} {self.event_id}"


class ConnectionWatch(models.Model):
    """The connection watch's state: the last stored connection check and what the HubSpot
    admins were told about it. One row (pk 1), written by the check and the sweep with
    conditional UPDATEs, so it lives apart from the settings row: an admin saving the settings
    form must not write back a stale copy of it (services/connection_watch.py)."""

    ROW = 1

    checked_at = models.DateTimeField(_("last check"), null=True, blank=True)
    # When the last check began: a sweep claims the next one by moving this forward atomically.
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    ok = models.BooleanField(_("last check passed"), null=True, blank=True)
    message = models.TextField(_("verdict"), blank=True)
    failures = models.JSONField(_("failing checks"), default=list, blank=True)  # [{name, message}]
    failing_since = models.DateTimeField(null=True, blank=True, verbose_name=_("failing since"))
    # True once the admins were emailed that it fails, until they are emailed it recovered.
    alerted = models.BooleanField(default=False, verbose_name=_("alerted"))
    alert_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("alert sent at"))
    history = models.JSONField(
        default=list, blank=True, verbose_name=_("history")
    )  # newest first: [{at, ok, message}]

    class Meta:
        verbose_name = _("connection watch")
        verbose_name_plural = _("connection watch")
        default_permissions = ()  # no admin page: the banner and /api/health show it

    def __str__(self) -> str:
        return {
            True: gettext("HubSpot connection passing"),
            False: gettext("HubSpot connection failing"),
            None: gettext("HubSpot connection not checked"),
        }[self.ok]


# Admin pages that show HubSpot data, not rows: models without a table of their own give them an
# entry in the admin index and a URL namespace; their ModelAdmins replace every view. Each object
# type's page model lives in its package (`crm.registry.PACKAGES`), loaded at the end of this module.
class CrmDashboard(AdminPage):
    class Meta(AdminPage.Meta):
        verbose_name = _("CRM dashboard")
        verbose_name_plural = _("CRM dashboard")


crm_registry.modules("models")  # each object type's page model, e.g. contacts.models.HubSpotContact
