"""A stateful fake HubSpot on 127.0.0.1 for tests that drive the real SDK. See README.md."""

from .seed import CONTACT_FORM_ID, NEWSLETTER_FORM_ID, TICKET_PIPELINE_ID
from .server import (
    ALL_SCOPES,
    CREDENTIAL_KINDS,
    FAKE_APP_TOKEN,
    FAKE_PORTAL_ID,
    FAKE_SERVICE_KEY,
    FAKE_TOKEN,
    VERSIONS,
    Credential,
    FakeHubSpot,
    RecordedRequest,
)

__all__ = [
    "ALL_SCOPES",
    "CONTACT_FORM_ID",
    "CREDENTIAL_KINDS",
    "FAKE_APP_TOKEN",
    "FAKE_PORTAL_ID",
    "FAKE_SERVICE_KEY",
    "FAKE_TOKEN",
    "NEWSLETTER_FORM_ID",
    "TICKET_PIPELINE_ID",
    "VERSIONS",
    "Credential",
    "FakeHubSpot",
    "RecordedRequest",
]
