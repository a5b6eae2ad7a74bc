"""GET /api/hubspot/support/summary: the dashboard's support figures, for staff."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.views import APIView

from ..services import support_reports
from .permissions import CanViewDashboard
from .report_views import REFRESH, StageNameSerializer, _answer, _example, _meta
from .schema import envelope

PERIOD = OpenApiParameter(
    "period",
    int,
    enum=list(support_reports.PERIODS),
    description="the last 7, 30 or 90 days up to today, UTC "
    f"(default {support_reports.DEFAULT_PERIOD}; another value means the default)",
)


class DaySerializer(serializers.Serializer):
    date = serializers.DateField()
    opened = serializers.IntegerField()
    closed = serializers.IntegerField()


class TimeToCloseSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="tickets closed in the period")
    median_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True, help_text="90th percentile, nearest rank")


class OpenStageSerializer(StageNameSerializer):
    count = serializers.IntegerField()


class OpenPrioritySerializer(serializers.Serializer):
    priority = serializers.CharField(
        allow_blank=True, help_text="`hs_ticket_priority`; blank: none, or the account's own"
    )
    label = serializers.CharField()
    count = serializers.IntegerField()


class PeriodFiguresSerializer(serializers.Serializer):
    per_day = DaySerializer(many=True)
    opened = serializers.IntegerField()
    closed = serializers.IntegerField()


class TicketFiguresSerializer(PeriodFiguresSerializer):
    time_to_close = TimeToCloseSerializer()
    open_by_stage = OpenStageSerializer(many=True)
    open_by_priority = OpenPrioritySerializer(many=True)


class FirstReplySerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="threads opened in the period and answered")
    median_seconds = serializers.FloatField(allow_null=True)
    unanswered = serializers.IntegerField()


class ChatFiguresSerializer(PeriodFiguresSerializer):
    first_reply = FirstReplySerializer()


class SupportSummarySerializer(serializers.Serializer):
    period = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    tickets = TicketFiguresSerializer()
    chat = ChatFiguresSerializer(
        allow_null=True, help_text="null without the scope conversations.read"
    )
    chat_note = serializers.CharField(allow_blank=True)


def _days(*rows):
    return [{"date": d, "opened": o, "closed": c} for d, o, c in rows]


SUPPORT_EXAMPLE = _example(
    "Support summary",
    {
        "period": 7,
        "start": "2025-12-30",
        "end": "2026-01-05",
        "tickets": {
            "per_day": _days(
                ("2025-12-30", 41, 38),
                ("2025-12-31", 22, 25),
                ("2026-01-01", 9, 7),
                ("2026-01-02", 44, 40),
                ("2026-01-03", 15, 12),
                ("2026-01-04", 11, 14),
                ("2026-01-05", 30, 19),
            ),
            "opened": 172,
            "closed": 155,
            "time_to_close": {"count": 155, "median_seconds": 15300, "p90_seconds": 172800},
            "open_by_stage": [
                {
                    "pipeline": "0",
                    "pipeline_label": "Support Pipeline",
                    "stage": "1",
                    "label": "New",
                    "count": 64,
                }
            ],
            "open_by_priority": [
                {"priority": "HIGH", "label": "High", "count": 21},
                {"priority": "", "label": "No or other priority", "count": 3},
            ],
        },
        "chat": {
            "per_day": _days(("2026-01-05", 12, 10)),
            "opened": 12,
            "closed": 10,
            "first_reply": {"count": 11, "median_seconds": 240, "unanswered": 1},
        },
        "chat_note": "",
    },
)


class SupportSummaryView(APIView):
    """GET /api/hubspot/support/summary?period=7|30|90"""

    permission_classes = [CanViewDashboard]

    @extend_schema(
        summary="Support: tickets opened and closed per day, times to close, open tickets by "
        "stage and priority, chat threads and time to first reply",
        parameters=[PERIOD, REFRESH],
        responses=envelope("SupportSummaryResponse", SupportSummarySerializer(), **_meta()),
        examples=[SUPPORT_EXAMPLE],
    )
    def get(self, request):
        period = support_reports.clamp_period(
            request.query_params.get("period", support_reports.DEFAULT_PERIOD)
        )
        return _answer(request, support_reports.summary, period)
