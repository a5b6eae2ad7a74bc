"""Request bodies of the tickets endpoints (validated again by the services)."""

from rest_framework import serializers

from ..services.tickets import CATEGORIES, Priority


class CaseInsensitiveChoice(serializers.ChoiceField):
    def to_internal_value(self, data):
        return super().to_internal_value(str(data).upper() if data is not None else data)


class TicketInputSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=255)
    content = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    email = serializers.EmailField(max_length=254)
    priority = CaseInsensitiveChoice(choices=Priority.values, required=False, default="MEDIUM")
    category = CaseInsensitiveChoice(choices=CATEGORIES, required=False, allow_blank=True)
    pipeline = serializers.CharField(required=False, allow_blank=True, max_length=64)
    stage = serializers.CharField(required=False, allow_blank=True, max_length=64)


class TicketPatchSerializer(serializers.Serializer):
    subject = serializers.CharField(required=False, max_length=255)
    content = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    priority = CaseInsensitiveChoice(choices=Priority.values, required=False)
    pipeline = serializers.CharField(required=False, allow_blank=True, max_length=64)
    stage = serializers.CharField(required=False, allow_blank=True, max_length=64)
    owner = serializers.CharField(required=False, allow_blank=True, max_length=32)


class CrmObjectSerializer(serializers.Serializer):
    id = serializers.CharField()
    properties = serializers.DictField(child=serializers.CharField(allow_null=True))
