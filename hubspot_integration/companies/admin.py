"""The "HubSpot companies" pages: list, search, a company's page with its contacts and deals,
create, edit and archive, all from the shared CRM pages."""

from django.contrib import admin

from ..crm.admin import CrmObjectAdmin
from . import OBJECT_TYPE
from .forms import CompanyForm
from .models import HubSpotCompany
from .service import service


@admin.register(HubSpotCompany)
class HubSpotCompanyAdmin(CrmObjectAdmin):
    object_type = OBJECT_TYPE
    service = service
    form_class = CompanyForm
