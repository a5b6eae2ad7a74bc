from ..crm.forms import form_for
from . import OBJECT_TYPE

CompanyForm = form_for(OBJECT_TYPE)
