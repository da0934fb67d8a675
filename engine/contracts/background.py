"""Models of the background workflow that cross the Temporal boundary.

One workflow, ``carepath-background``, owns the work no request does: the sweep that
dispatches what was accepted but never dispatched (events, tags, segment changes;
Temporal was unreachable, or a journey step added a tag in the worker), and the read
of WeCom send results, which no platform pushes. Temporal keeps exactly one running
under that id, however many workers and API processes there are. Pure pydantic,
importable in the workflow sandbox; one input and one result per workflow and activity.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

BACKGROUND_WORKFLOW = "BackgroundWorkflow"
BACKGROUND_WORKFLOW_ID = "carepath-background"
SWEEP_ACTIVITY = "sweep_undispatched"
WECOM_RESULTS_ACTIVITY = "read_wecom_results"


class BackgroundInput(BaseModel):
    """How often each piece of background work runs; carried over continue-as-new."""

    sweep_seconds: float = Field(5.0, gt=0, description="seconds between sweeps")
    sweep_after_seconds: float = Field(
        10.0,
        ge=0,
        description="an item is swept once it is this old (a request may still be "
        "dispatching a younger one)",
    )
    wecom_every: int = Field(6, ge=1, description="read WeCom send results every this many sweeps")
    rounds_per_run: int = Field(
        500, ge=1, description="rounds before the workflow continues as new (history size)"
    )


class BackgroundResult(BaseModel):
    """What a run did before it continued as new (never returned while running)."""

    rounds: int = 0


class SweepInput(BaseModel):
    """One sweep: dispatch items older than ``older_than_seconds``."""

    older_than_seconds: float = 10.0


class SweepResult(BaseModel):
    """How many undispatched items one sweep found and acted on."""

    found: int = 0


class WeComResultsInput(BaseModel):
    """One read of WeCom send results (no fields yet; one input for later ones)."""


class WeComResultsResult(BaseModel):
    """How many WeCom results were handed to waiting enrollments."""

    handed: int = 0
    configured: bool = Field(True, description="False: WeCom is not set up on this worker")
