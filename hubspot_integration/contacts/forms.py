from ..crm.forms import ObjectForm, form_for
from . import OBJECT_TYPE


class ContactFormBase(ObjectForm):
    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()  # as HubSpot stores it


ContactForm = form_for(OBJECT_TYPE, ContactFormBase)
