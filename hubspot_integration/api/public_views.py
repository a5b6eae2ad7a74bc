"""`GET /api/hubspot/config`: what a single-page front end needs to load the widget and forms.

Public: no login, no session, no CSRF. Never the token or the webhook secret. Served from the
settings cache, so it costs no SQL once warm.
"""

from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..services import chat


class PublicConfigView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        response = Response(chat.public_config())
        # Shared caches may keep it briefly; an admin's change shows within a minute.
        response["Cache-Control"] = "public, max-age=60"
        return response
