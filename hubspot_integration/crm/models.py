"""The base of the table-less models the HubSpot admin pages hang off."""

from django.db import models


class AdminPage(models.Model):
    """An admin page showing HubSpot's data, not rows: a model without a table gives it an entry
    in the admin index, a URL namespace and a content type for its permissions; its ModelAdmin
    replaces every view."""

    class Meta:
        abstract = True
        managed = False
        default_permissions = ()

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
