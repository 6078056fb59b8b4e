"""Shapes of the health answers, for the OpenAPI schema (the views answer ``ops.health``'s dicts)."""

from __future__ import annotations

from rest_framework import serializers


class ServiceCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["ok", "down", "disabled"], help_text="disabled: Redis is not configured (in-memory)."
    )
    latencyMs = serializers.FloatField(required=False)
    error = serializers.CharField(required=False, help_text="Why the check failed (status down).")


class ServicesSerializer(serializers.Serializer):
    database = ServiceCheckSerializer()
    redis = ServiceCheckSerializer()
    nats = ServiceCheckSerializer()


class BreakerSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["closed", "open", "half_open"])
    consecutiveFailures = serializers.IntegerField()
    retryIn = serializers.FloatField(help_text="Seconds until a trial call (0 when closed).")
    timesOpened = serializers.IntegerField()


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded"])
    services = ServicesSerializer()
    uptime = serializers.FloatField(help_text="Seconds since this process started.")
    breakers = serializers.DictField(
        child=BreakerSerializer(), help_text="Each configured provider's circuit breaker, by provider."
    )


class LivenessSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])
    uptime = serializers.FloatField(help_text="Seconds since this process started.")
