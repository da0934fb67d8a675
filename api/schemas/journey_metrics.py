"""The answer of ``GET /v1/journeys/{id}/metrics``: the engine's report models, which
carry their own field descriptions into the OpenAPI document."""

from __future__ import annotations

from engine.reports.experiments import Comparison, Interval, SampleRatio
from engine.reports.journey_metrics import ArmResult, Experiment, JourneyMetrics
from engine.store.metrics import ChannelSends, HandoffFigures, StepFigures

__all__ = [
    "ArmResult",
    "ChannelSends",
    "Comparison",
    "Experiment",
    "HandoffFigures",
    "Interval",
    "JourneyMetrics",
    "SampleRatio",
    "StepFigures",
]
