"""The reusable singleton (hubspot_integration/singleton.py), exercised through HubSpotSettings."""

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from hubspot_integration.models import SETTINGS_CACHE_KEY, HubSpotSettings
from hubspot_integration.singleton import SingletonModel, SingletonModelAdmin

CHANGE_URL = "/admin/hubspot_integration/hubspotsettings/1/change/"


@pytest.mark.django_db
class TestModel:
    def test_pk_is_pinned_on_save(self):
        s = HubSpotSettings(pk=42, portal_id="123")
        s.save()
        assert s.pk == HubSpotSettings.singleton_pk == 1
        assert HubSpotSettings.objects.count() == 1
        HubSpotSettings(portal_id="456").save()
        assert list(HubSpotSettings.objects.values_list("pk", "portal_id")) == [(1, "456")]

    def test_get_solo_creates_the_row_once(self):
        assert not HubSpotSettings.solo_queryset().exists()
        first = HubSpotSettings.get_solo()
        again = HubSpotSettings.get_solo()
        assert first.pk == again.pk == 1
        assert HubSpotSettings.objects.count() == 1

    def test_get_solo_for_update_locks_inside_a_transaction(self):
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            s = HubSpotSettings.get_solo(for_update=True)
        assert s.pk == 1
        # SQLite has no FOR UPDATE; the query still goes to the database, not the cache.
        assert len(queries) >= 1

    def test_solo_queryset_does_not_create(self):
        assert HubSpotSettings.solo_queryset().first() is None
        assert HubSpotSettings.solo_queryset(using="default").first() is None
        assert HubSpotSettings.objects.count() == 0

    def test_load_reads_through_the_cache(self):
        HubSpotSettings(portal_id="123").save()  # write-through
        assert cache.get(SETTINGS_CACHE_KEY) is not None
        with CaptureQueriesContext(connection) as queries:
            s = HubSpotSettings.load()
        assert len(queries) == 0
        assert s.portal_id == "123" and s.pk == 1 and not s._state.adding

    def test_load_fresh_skips_and_refills_the_cache(self):
        HubSpotSettings(portal_id="123").save()
        HubSpotSettings.objects.filter(pk=1).update(portal_id="999")  # behind the cache's back
        assert HubSpotSettings.load().portal_id == "123"
        assert HubSpotSettings.load(fresh=True).portal_id == "999"
        with CaptureQueriesContext(connection) as queries:
            assert HubSpotSettings.load().portal_id == "999"
        assert len(queries) == 0

    def test_update_fields_save_invalidates(self):
        s = HubSpotSettings.get_solo()
        s.portal_id = "555"
        s.save()
        assert cache.get(SETTINGS_CACHE_KEY) is not None
        s.save(update_fields=["portal_id"])
        assert cache.get(SETTINGS_CACHE_KEY) is None

    def test_a_committed_partial_save_refills_the_cache_from_the_row(
        self, django_capture_on_commit_callbacks
    ):
        s = HubSpotSettings.get_solo()
        s.portal_id = "555"
        s.save()
        HubSpotSettings.objects.filter(pk=1).update(ui_domain="app-eu1.hubspot.com")
        stale = HubSpotSettings.load()  # the cached copy, without the row's ui_domain
        stale.portal_id = "777"
        with django_capture_on_commit_callbacks(execute=True):
            stale.save(update_fields=["portal_id"])
        assert cache.get(SETTINGS_CACHE_KEY) is not None  # others still read from the cache
        with CaptureQueriesContext(connection) as queries:
            s = HubSpotSettings.load()
        assert len(queries) == 0
        assert (s.portal_id, s.ui_domain) == ("777", "app-eu1.hubspot.com")  # the row, not stale

    def test_delete_clears_row_and_cache(self):
        HubSpotSettings(portal_id="123").save()
        HubSpotSettings.load().delete()
        assert cache.get(SETTINGS_CACHE_KEY) is None
        assert HubSpotSettings.objects.count() == 0
        assert HubSpotSettings.load().portal_id == ""

    def test_secrets_are_ciphertext_in_the_snapshot(self):
        token = "pat-na1-singleton-secret-0001"
        s = HubSpotSettings(access_token=token)
        s.save()
        snapshot = cache.get(SETTINGS_CACHE_KEY)
        assert token not in repr(snapshot)
        assert HubSpotSettings.load().access_token == token

    def test_default_cache_key_names_the_model(self):
        assert SingletonModel.cache_key.__func__(HubSpotSettings) == (
            "hubspot_integration:hubspotsettings:solo"
        )
        assert HubSpotSettings.cache_key() == SETTINGS_CACHE_KEY


@pytest.mark.django_db
class TestAdmin:
    def test_settings_admin_is_a_singleton_admin(self):
        assert isinstance(admin.site._registry[HubSpotSettings], SingletonModelAdmin)

    def test_no_add_no_delete(self, rf, superuser):
        model_admin = admin.site._registry[HubSpotSettings]
        request = rf.get("/")
        request.user = superuser
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_delete_permission(request, HubSpotSettings.get_solo())

    def test_changelist_redirects_to_the_one_row(self, client, superuser):
        client.force_login(superuser)
        response = client.get("/admin/hubspot_integration/hubspotsettings/")
        assert response.status_code == 302
        assert response["Location"] == CHANGE_URL
        assert HubSpotSettings.objects.count() == 1

    def test_any_object_id_edits_the_one_row(self, client, superuser):
        HubSpotSettings(portal_id="321").save()
        client.force_login(superuser)
        response = client.get("/admin/hubspot_integration/hubspotsettings/7/change/")
        assert response.status_code == 200
        assert response.context["original"].pk == 1

    def test_add_and_delete_pages_are_refused(self, client, superuser):
        HubSpotSettings.get_solo()
        client.force_login(superuser)
        assert client.get("/admin/hubspot_integration/hubspotsettings/add/").status_code == 403
        assert client.get(CHANGE_URL.replace("change", "delete")).status_code == 403
