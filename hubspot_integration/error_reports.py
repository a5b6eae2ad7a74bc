"""What Django's error pages and error e-mails may show: never a token, a secret or a credential.

Django's `SafeExceptionReporterFilter` hides settings and request headers whose names match
`API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE`, but only hides local variables and POST
fields that a view marked with `sensitive_variables` / `sensitive_post_parameters`, and only while
`DEBUG` is false. This filter hides them with `DEBUG=true` as well (a development server is
reachable too), by name everywhere (variables, POST fields, dictionary keys, cookies), and by value:
HubSpot tokens, bearer credentials, Fernet ciphertext, passwords in URLs, and whatever secret the
failing request itself carried (its Authorization header, signature headers, cookie values) are
replaced wherever they appear.
"""

from __future__ import annotations

import re

from django.template.defaultfilters import pprint
from django.utils.datastructures import MultiValueDict
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from .logging import redact

HIDDEN_NAMES = re.compile(
    "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|COOKIE|CREDENTIAL|SESSION|CSRF|PRIVATE", flags=re.I
)
# Request headers whose values are credentials whatever their names say.
SECRET_HEADERS = ("HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION", "HTTP_COOKIE", "HTTP_X_API_KEY")
SECRET_HEADER_PREFIXES = ("HTTP_X_HUBSPOT_SIGNATURE",)
URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@")
MIN_SECRET_LENGTH = 8  # shorter values are not worth hunting for in every variable


class _Shown:
    """A value already turned into safe text: shown as that text, not re-quoted."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _is_secret_header(name: str) -> bool:
    return name in SECRET_HEADERS or name.startswith(SECRET_HEADER_PREFIXES)


class SecretHidingReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = HIDDEN_NAMES

    def is_active(self, request):
        return True  # with DEBUG=true too

    # --- what the failing request carried --------------------------------------------------------
    def request_secrets(self, request) -> list[str]:
        """The credential values this request sent, longest first, to scrub wherever they appear."""
        known = getattr(request, "_secrets_to_hide", None)
        if known is not None:
            return known
        meta = getattr(request, "META", None) or {}
        values = set()
        for name, value in meta.items():
            if isinstance(value, str) and _is_secret_header(name):
                values.add(value)
                if name != "HTTP_COOKIE":  # its values are in COOKIES; its names are no secret
                    values.update(value.split())  # "Bearer <token>": the token alone, too
        for value in (getattr(request, "COOKIES", None) or {}).values():
            values.add(str(value))
        known = sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        try:
            request._secrets_to_hide = known
        except AttributeError:
            pass
        return known

    def scrub_text(self, request, text: str) -> str:
        text = URL_PASSWORD.sub(lambda m: m.group(1) + self.cleansed_substitute + "@", redact(text))
        for secret in self.request_secrets(request) if request is not None else []:
            text = text.replace(secret, self.cleansed_substitute)
        return text

    def scrub_value(self, request, value):
        """The value, or its safe text when its printed form holds a secret."""
        text = pprint(value)
        safe = self.scrub_text(request, text)
        return value if safe == text else _Shown(safe)

    # --- settings, headers, cookies, POST ----------------------------------------------------------
    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if type(cleansed) is str:  # not lazy objects pretending to be one
            return self.scrub_text(None, cleansed)
        return cleansed

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        for name in meta:
            if _is_secret_header(name):
                meta[name] = self.cleansed_substitute
            elif type(meta[name]) is str:
                meta[name] = self.scrub_text(request, meta[name])
        return meta

    def get_safe_cookies(self, request):
        # Cookies are session and CSRF credentials; their names are all a page needs.
        cookies = getattr(request, "COOKIES", None) or {}
        return dict.fromkeys(cookies, self.cleansed_substitute)

    def _hide_fields(self, request, data: MultiValueDict) -> MultiValueDict:
        data = data.copy()
        for name in list(data):
            if HIDDEN_NAMES.search(name):
                data[name] = self.cleansed_substitute
            else:
                data.setlist(name, [self.scrub_text(request, str(v)) for v in data.getlist(name)])
        return data

    def get_cleansed_multivaluedict(self, request, multivaluedict):
        return self._hide_fields(
            request, super().get_cleansed_multivaluedict(request, multivaluedict)
        )

    def get_post_parameters(self, request):
        if request is None:
            return {}
        return self._hide_fields(request, super().get_post_parameters(request))

    # --- local variables of every frame -----------------------------------------------------------
    def get_traceback_frame_variables(self, request, tb_frame):
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if HIDDEN_NAMES.search(name) or (
                isinstance(value, str) and value == self.cleansed_substitute
            ):
                cleansed.append((name, self.cleansed_substitute))
                continue
            if isinstance(value, dict | list | tuple):
                value = self.cleanse_setting("", value)
            cleansed.append((name, self.scrub_value(request, value)))
        return cleansed


class SecretHidingExceptionReporter(ExceptionReporter):
    """Also scrubs what the filter never sees: the exception's message, the URL and the query."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        scrub = self.filter.scrub_text if hasattr(self.filter, "scrub_text") else None
        if scrub is None:
            return data
        for key in ("exception_value", "request_insecure_uri", "exception_notes"):
            if isinstance(data.get(key), str):
                data[key] = scrub(self.request, data[key])
        if self.request is not None:
            data["request_GET_items"] = self.filter._hide_fields(
                self.request, self.request.GET
            ).items()
        for frame in data.get("frames", []):
            if isinstance(frame.get("exc_cause"), BaseException):
                frame["exc_cause"] = _Shown(scrub(self.request, str(frame["exc_cause"])))
        return data
