"""A model with exactly one row, read through the cache, and its admin (django-solo's shape).

`load()` is for reading (served from the shared cache once warm, so no SQL on the page-render
path); `get_solo()` is for editing (always the database row, locked with `for_update=True`).
Nothing else should query the row by its primary key.
"""

from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpResponseRedirect
from django.urls import reverse


class SingletonModel(models.Model):
    singleton_pk = 1
    # None keeps the snapshot until a save replaces it.
    cache_timeout = None

    class Meta:
        abstract = True

    # --- writing -------------------------------------------------------------------------------
    def save(self, *args, **kwargs):
        self.pk = self.singleton_pk
        super().save(*args, **kwargs)
        if kwargs.get("update_fields"):
            # A partial save may come from a stale copy: drop it now, and refill from the row
            # once it is committed, so other processes keep reading from the cache (the sweep's
            # connection check saves this way every interval). A refill that fails only costs
            # the next reader one query.
            self.invalidate_cache()
            transaction.on_commit(
                lambda: type(self).load(fresh=True), using=kwargs.get("using"), robust=True
            )
        else:
            # Write-through: the next read anywhere is served from the shared cache without SQL.
            cache.set(self.cache_key(), self._cache_snapshot(), self.cache_timeout)

    def delete(self, *args, **kwargs):
        # Deleting clears the row; the next load() starts again from the defaults.
        self.invalidate_cache()
        return super().delete(*args, **kwargs)

    @classmethod
    def cache_key(cls) -> str:
        return f"{cls._meta.app_label}:{cls._meta.model_name}:solo"

    # --- reading -------------------------------------------------------------------------------
    @classmethod
    def solo_queryset(cls, using: str | None = None) -> models.QuerySet:
        """The row as a queryset, for reads that must not create it (e.g. system checks)."""
        manager = cls._default_manager
        return (manager.using(using) if using else manager.all()).filter(pk=cls.singleton_pk)

    @classmethod
    def get_solo(cls, *, for_update: bool = False):
        """The row from the database (created with the defaults if missing).

        `for_update=True` locks it until the surrounding transaction ends."""
        manager = cls._default_manager
        queryset = manager.select_for_update() if for_update else manager.all()
        obj, _ = queryset.get_or_create(pk=cls.singleton_pk)
        return obj

    @classmethod
    def load(cls, *, fresh: bool = False):
        """The row for reading: from the cache when warm, else from the database (and cached).

        `fresh=True` skips the cache and refills it from the row."""
        if not fresh:
            snapshot = cache.get(cls.cache_key())
            if snapshot is not None:
                return cls._from_snapshot(snapshot)
        obj = cls.get_solo()
        cache.set(cls.cache_key(), obj._cache_snapshot(), cls.cache_timeout)
        return obj

    @classmethod
    def invalidate_cache(cls) -> None:
        cache.delete(cls.cache_key())

    # --- the cached copy -----------------------------------------------------------------------
    def _cache_snapshot(self) -> dict:
        """What the cache holds: each concrete field's value as the database stores it."""
        return {
            field.attname: self._snapshot_value(field, field.value_from_object(self))
            for field in self._meta.concrete_fields
        }

    def _snapshot_value(self, field, value):
        return value

    @classmethod
    def _from_snapshot(cls, snapshot: dict):
        obj = cls(**snapshot)
        obj._state.adding = False
        obj._state.db = "default"
        return obj


class SingletonModelAdmin(admin.ModelAdmin):
    """No add, no delete; the changelist and any object ID lead to the one row's change page."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        # The admin edits, so the database row and never the cached copy.
        return self.model.get_solo()

    def solo_change_url(self) -> str:
        opts = self.model._meta
        return reverse(
            f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
            args=[self.model.singleton_pk],
        )

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        self.model.get_solo()
        return HttpResponseRedirect(self.solo_change_url())
