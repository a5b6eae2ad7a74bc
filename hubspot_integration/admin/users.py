"""Users in the admin: one account per email address (the database enforces it too, migration
0004), whether the customer confirmed it, and the HubSpot contact they were sent to."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import CustomerEmail, HubSpotUserContact

User = get_user_model()


class UniqueEmailUserChangeForm(UserChangeForm):
    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip()
        taken = User.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if email and taken.exists():
            raise ValidationError(_("Another account has this email address."))
        return email


class CustomerEmailInline(admin.StackedInline):
    """Read-only: a customer confirms an address by its link. Deleting the row unverifies it."""

    model = CustomerEmail
    fields = ["email", "verified_at"]
    readonly_fields = ["email", "verified_at"]
    extra = 0
    max_num = 0
    verbose_name_plural = gettext_lazy(
        "verified email (changing the email above unverifies the account)"
    )


class HubSpotUserContactInline(admin.StackedInline):
    """Read-only: the HubSpot contact the user was last sent to (services/user_sync.py)."""

    model = HubSpotUserContact
    fields = ["contact_id", "email", "synced_at"]
    readonly_fields = ["contact_id", "email", "synced_at"]
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("HubSpot contact")


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class SkyPanelUserAdmin(UserAdmin):
    form = UniqueEmailUserChangeForm
    inlines = [*UserAdmin.inlines, CustomerEmailInline, HubSpotUserContactInline]
