"""Settings endpoints for admins: read, update, test the connection."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import HubSpotSettings
from ..services.connection import check_connection
from ..services.settings import save_settings
from .permissions import CanChangeSettings, CanTestConnection, CanViewSettings
from .serializers import MODEL_TO_API, ConnectionReportSerializer, SettingsSerializer


class SettingsConfigView(APIView):
    """GET /api/admin/settings/hubspot/config"""

    permission_classes = [CanViewSettings]

    @extend_schema(responses=SettingsSerializer, summary="Read the HubSpot settings (no secrets)")
    def get(self, request):
        settings_obj = HubSpotSettings.get_solo()
        return Response({"success": True, "data": SettingsSerializer(settings_obj).data})


class SettingsUpdateView(APIView):
    """PUT /api/admin/settings/hubspot: keys present are changed, keys omitted are kept."""

    permission_classes = [CanChangeSettings]

    @extend_schema(request=SettingsSerializer, responses=SettingsSerializer)
    @sensitive_variables("serializer")  # its repr shows the submitted data, token included
    def put(self, request):
        serializer = SettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        settings_obj = HubSpotSettings.get_solo()
        serializer.apply(settings_obj)
        try:
            changed = save_settings(settings_obj, actor=request.user, source="api")
        except DjangoValidationError as err:
            # What only the save can judge (who may set which script host): a 400 naming the key.
            raise serializers.ValidationError(
                {MODEL_TO_API.get(k, k): v for k, v in err.message_dict.items()}
            ) from None
        return Response(
            {
                "success": True,
                "message": _("Settings saved.") if changed else _("Nothing changed."),
                "data": SettingsSerializer(settings_obj).data,
            }
        )


class TestConnectionView(APIView):
    """POST /api/admin/settings/hubspot/test-connection"""

    permission_classes = [CanTestConnection]

    @extend_schema(request=None, responses=ConnectionReportSerializer)
    @sensitive_variables()
    def post(self, request):
        report = check_connection()
        return Response(report.as_dict())
