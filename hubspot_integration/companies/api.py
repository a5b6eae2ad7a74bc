"""`/api/admin/settings/hubspot/companies` and `.../companies/<id>` (with its contacts and deals)."""

from ..crm.api import detail_view, list_view, urls_for
from . import OBJECT_TYPE
from .service import service

CompanyListView = list_view(OBJECT_TYPE, service, __name__)
CompanyDetailView = detail_view(OBJECT_TYPE, service, __name__)

urlpatterns = urls_for(OBJECT_TYPE, CompanyListView, CompanyDetailView)
