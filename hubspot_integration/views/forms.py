"""Forms of the customer pages. Length caps double as the size limits of the abuse protection."""

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from ..tickets.service import Priority
from .abuse import HONEYPOT_FIELD

# Customers are not offered URGENT: staff decide what is urgent when they triage the ticket.
CUSTOMER_PRIORITIES = [(p.value, p.label) for p in Priority if p != Priority.URGENT]

# Django's own text, marked here so the site's catalogue words it: Django's German says "du",
# the site says "Sie".
EMAIL_ERRORS = {"invalid": _("Enter a valid email address.")}


class HoneypotMixin(forms.Form):
    # Hidden from people by CSS and aria; bots that fill every field fill this one.
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )


class SupportRequestForm(HoneypotMixin):
    subject = forms.CharField(max_length=200, label=_("Subject"))
    description = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 6}), label=_("Description")
    )
    priority = forms.ChoiceField(
        choices=CUSTOMER_PRIORITIES, initial=Priority.MEDIUM, label=_("Priority")
    )
    email = forms.EmailField(max_length=254, label=_("Email"), error_messages=EMAIL_ERRORS)

    field_order = ["subject", "description", "priority", "email", HONEYPOT_FIELD]

    def __init__(self, *args, account=None, **kwargs):
        super().__init__(*args, **kwargs)
        if account is not None and account.email:
            # A signed-in customer's requests go out under their account's address, never one
            # typed here (that could be anyone's).
            del self.fields["email"]


class ContactForm(HoneypotMixin):
    name = forms.CharField(max_length=100, label=_("Name"))
    email = forms.EmailField(max_length=254, label=_("Email"), error_messages=EMAIL_ERRORS)
    company = forms.CharField(max_length=100, required=False, label=_("Company"))
    message = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 6}), label=_("Message")
    )

    field_order = ["name", "email", "company", "message", HONEYPOT_FIELD]

    def __init__(self, *args, consent=None, **kwargs):
        super().__init__(*args, **kwargs)
        # With a consent text in the settings (services/consent.form_consent), the message is
        # sent only with the sender's agreement, and HubSpot is told what they agreed to.
        if consent is not None:
            self.fields["consent_to_process"] = forms.BooleanField(label=consent["text"])
            if consent["communications"]:
                self.fields["consent_communications"] = forms.BooleanField(
                    label=consent["communications"]["text"], required=False
                )


class SignupForm(UserCreationForm):
    email = forms.EmailField(
        max_length=254,
        label=_("Email"),
        error_messages=EMAIL_ERRORS,
        help_text=_(
            "We send a link to confirm it. Once confirmed, it files your support requests "
            "and identifies you in the chat."
        ),
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self):
        # Whether the address already has an account is never said here (see register()).
        return self.cleaned_data["email"].strip().lower()
