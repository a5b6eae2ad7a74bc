"""Reporting endpoints for staff (TotalCare's routes) and the public health check."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..health import registry as health_checks
from ..services import reports
from .params import wants_refresh
from .permissions import CanViewDashboard
from .schema import envelope

REFRESH = OpenApiParameter(
    "refresh", bool, description="true: ask HubSpot again instead of using the cached figures"
)
DAYS = OpenApiParameter(
    "days",
    int,
    description=f"the period, in days up to today (1-365, default {reports.DEFAULT_DAYS})",
)


def _answer(request, fetch, *args, shape=lambda data: {"data": data}):
    """The reporting envelope; `shape` turns a card's data into the answer's top-level keys.

    When HubSpot cannot be asked (a refresh included), the last good figures come back with
    `stale: true`, their `fetched_at` and the `error`; with none kept, the error envelope."""
    if wants_refresh(request):
        reports.refresh()
    got = fetch(*args)
    return Response(
        {
            "success": True,
            **shape(got.data),
            "timestamp": timezone.now().isoformat(),
            "fetched_at": got.fetched_at.isoformat(),
            "cached": got.from_cache,
            "stale": got.stale,
            "error": str(got.error) if got.stale else "",
        }
    )


def _meta():
    return {
        "timestamp": serializers.DateTimeField(),
        "fetched_at": serializers.DateTimeField(help_text="when the data was read from HubSpot"),
        "cached": serializers.BooleanField(),
        "stale": serializers.BooleanField(
            help_text="true: HubSpot could not be asked (a refresh failed); these are the last "
            "figures it gave, from `fetched_at`"
        ),
        "error": serializers.CharField(
            allow_blank=True, help_text="why HubSpot could not be asked, when `stale`"
        ),
    }


class SummarySerializer(serializers.Serializer):
    contacts_count = serializers.IntegerField()
    deals_count = serializers.IntegerField()
    companies_count = serializers.IntegerField()
    total_deal_value = serializers.FloatField(help_text="sum of `amount` over all deals")
    open_deals_count = serializers.IntegerField()
    open_deal_value = serializers.FloatField(help_text="sum of `amount` over deals not closed")


class RecentContactSerializer(serializers.Serializer):
    id = serializers.CharField()
    firstname = serializers.CharField(allow_blank=True)
    lastname = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    company = serializers.CharField(allow_blank=True)
    createdate = serializers.CharField(allow_blank=True)


class StageNameSerializer(serializers.Serializer):
    pipeline = serializers.CharField()
    pipeline_label = serializers.CharField()
    stage = serializers.CharField()
    label = serializers.CharField()


class StageSerializer(StageNameSerializer):
    deal_count = serializers.IntegerField()
    total_value = serializers.FloatField()


class PipelineSerializer(serializers.Serializer):
    stages = StageSerializer(many=True)


class AnalyticsSerializer(serializers.Serializer):
    page_views = serializers.IntegerField()
    sessions = serializers.IntegerField()
    new_contacts = serializers.IntegerField()
    days = serializers.IntegerField()


class FormStatsSerializer(serializers.Serializer):
    form_id = serializers.CharField()
    form_name = serializers.CharField(allow_blank=True)
    submissions = serializers.IntegerField()
    conversion_rate = serializers.FloatField(
        allow_null=True, help_text="submissions / views; null where HubSpot gives no views"
    )


def _example(name: str, data, *, fetched_at="2026-01-05T10:00:00+00:00", cached=False, **top):
    """A documented answer in the reporting envelope (as `_answer` builds it)."""
    value = {
        "success": True,
        "data": data,
        **top,
        "timestamp": "2026-01-05T10:00:00+00:00",
        "fetched_at": fetched_at,
        "cached": cached,
        "stale": False,
        "error": "",
    }
    return OpenApiExample(name, value=value, response_only=True)


SUMMARY_EXAMPLE = _example(
    "Summary",
    {
        "contacts_count": 2500,
        "deals_count": 350,
        "companies_count": 40,
        "total_deal_value": 1843250,
        "open_deals_count": 240,
        "open_deal_value": 1264800,
    },
    fetched_at="2026-01-05T09:58:31+00:00",
    cached=True,
)


class CrmSummaryView(APIView):
    """GET /api/hubspot/crm/summary"""

    permission_classes = [CanViewDashboard]

    @extend_schema(
        summary="CRM summary: counts and total deal value",
        parameters=[REFRESH],
        responses=envelope("CrmSummaryResponse", SummarySerializer(), **_meta()),
        examples=[SUMMARY_EXAMPLE],
    )
    def get(self, request):
        return _answer(request, reports.summary)


class RecentContactsView(APIView):
    """GET /api/hubspot/contacts/recent?limit=N"""

    permission_classes = [CanViewDashboard]

    @extend_schema(
        summary="Newest contacts first",
        parameters=[OpenApiParameter("limit", int, description="1-100, default 10"), REFRESH],
        responses=envelope("RecentContactsResponse", RecentContactSerializer(many=True), **_meta()),
        examples=[
            _example(
                "Recent contacts",
                [
                    {
                        "id": "2601",
                        "firstname": "Ann",
                        "lastname": "Lee",
                        "email": "ann@example.com",
                        "company": "Acme",
                        "createdate": "2026-01-05T09:12:00.000Z",
                    }
                ],
            )
        ],
    )
    def get(self, request):
        try:
            limit = int(request.query_params.get("limit", reports.DEFAULT_RECENT))
        except ValueError:
            limit = reports.DEFAULT_RECENT
        return _answer(request, reports.recent_contacts, limit)


class DealPipelineView(APIView):
    """GET /api/hubspot/deals/pipeline"""

    permission_classes = [CanViewDashboard]

    @extend_schema(
        summary="Deals per stage, in pipeline order",
        parameters=[REFRESH],
        responses=envelope("DealPipelineResponse", PipelineSerializer(), **_meta()),
        examples=[
            _example(
                "Pipeline",
                {
                    "stages": [
                        {
                            "pipeline": "90123456",
                            "pipeline_label": "Sales Pipeline",
                            "stage": "90123457",
                            "label": "Appointment scheduled",
                            "deal_count": 25,
                            "total_value": 131400,
                        }
                    ]
                },
            )
        ],
    )
    def get(self, request):
        return _answer(request, reports.deal_pipeline)


class AnalyticsView(APIView):
    """GET /api/hubspot/analytics"""

    permission_classes = [CanViewDashboard]

    @extend_schema(
        summary="Website analytics over a period (needs the business-intelligence scope)",
        parameters=[DAYS, REFRESH],
        responses=envelope("AnalyticsResponse", AnalyticsSerializer(), **_meta()),
        examples=[
            _example(
                "Analytics",
                {"page_views": 3600, "sessions": 1350, "new_contacts": 205, "days": 30},
            )
        ],
    )
    def get(self, request):
        days = reports.clamp_days(request.query_params.get("days", reports.DEFAULT_DAYS))
        return _answer(request, reports.analytics, days)


class FormsReportView(APIView):
    """GET /api/hubspot/forms"""

    permission_classes = [CanViewDashboard]

    @extend_schema(
        summary="Forms with their submissions and conversion rate",
        parameters=[DAYS, REFRESH],
        responses=envelope(
            "FormsReportResponse",
            FormStatsSerializer(many=True),
            note=serializers.CharField(
                allow_blank=True, help_text="why views or rates are missing, if they are"
            ),
            **_meta(),
        ),
        examples=[
            _example(
                "Forms",
                [
                    {
                        "form_id": "3f2a8c1e-5b7d-4e9a-9c2f-1a6b8d4e7f10",
                        "form_name": "Contact us",
                        "submissions": 12,
                        "conversion_rate": 0.06,
                    }
                ],
                note="",
            )
        ],
    )
    def get(self, request):
        days = reports.clamp_days(request.query_params.get("days", reports.DEFAULT_DAYS))
        return _answer(
            request,
            reports.forms,
            days,
            shape=lambda data: {"data": data["forms"], "note": data["note"]},
        )


class HealthComponentSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


class HubSpotHealthSerializer(HealthComponentSerializer):
    configured = serializers.BooleanField()
    enabled = serializers.BooleanField(required=False)
    last_check_ok = serializers.BooleanField(allow_null=True, required=False)
    last_check_at = serializers.DateTimeField(allow_null=True, required=False)
    undecryptable = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Secrets no key in HUBSPOT_ENCRYPTION_KEYS opens (the answer is then a 503).",
    )


class HealthComponentsSerializer(serializers.Serializer):
    database = HealthComponentSerializer()
    cache = HealthComponentSerializer()
    tasks = HealthComponentSerializer()
    hubspot = HubSpotHealthSerializer()


class HealthSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    components = HealthComponentsSerializer()


class HealthView(APIView):
    """GET /api/health: public, names no secret; 503 (the error envelope) when it cannot serve."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        summary="Health of the database, cache, task backend and HubSpot configuration",
        auth=[],
        responses={200: HealthSerializer},
        examples=[
            OpenApiExample(
                "Healthy",
                value={
                    "success": True,
                    "message": "Healthy.",
                    "components": {
                        "database": {"ok": True, "message": "sqlite answers."},
                        "cache": {"ok": True, "message": "The cache stores and reads values."},
                        "tasks": {"ok": True, "message": "Task backend DatabaseBackend is ready."},
                        "hubspot": {
                            "ok": True,
                            "configured": True,
                            "enabled": True,
                            "last_check_ok": True,
                            "last_check_at": "2026-01-05T09:00:00+00:00",
                            "message": "HubSpot is configured.",
                        },
                    },
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        report = health_checks.run()
        if report["success"]:
            return Response(report)
        return Response(
            {
                "success": False,
                "message": report["message"],
                "details": {"components": report["components"]},
            },
            status=503,
        )
