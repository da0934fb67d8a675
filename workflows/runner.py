"""How a worker runs our workflows: under Temporal's sandbox, or with the journey
interpreter outside it.

Not workflow code: the worker calls ``workflow_runner`` once at start. The choice is
the setting ``temporal.sandbox_journeys`` (``CAREPATH_TEMPORAL__SANDBOX_JOURNEYS``),
which the worker passes in; tests keep the sandbox.
"""

from __future__ import annotations

import compileall
import contextlib
from collections.abc import Sequence
from pathlib import Path

from temporalio.worker import (
    UnsandboxedWorkflowRunner,
    WorkflowInstance,
    WorkflowInstanceDetails,
    WorkflowRunner,
)
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import _Definition

from workflows.journey import JourneyWorkflow


def workflow_runner(sandbox_interpreter: bool) -> WorkflowRunner:
    """Temporal's sandbox for every workflow, or for all but the journey interpreter
    (``InterpreterDirect``); the workflow modules' bytecode is written first."""
    _byte_compile_workflows()
    sandboxed = SandboxedWorkflowRunner()
    return sandboxed if sandbox_interpreter else InterpreterDirect(sandboxed)


class InterpreterDirect(WorkflowRunner):
    """Runs ``JourneyWorkflow`` outside the sandbox and every other workflow in it.

    The sandbox imports a workflow's module afresh for each workflow instance and runs
    every activation, and every payload's serialization context, through ``exec`` in
    the instance's namespace, so that module state cannot leak between runs and calls
    are checked against its restrictions. In ``bench.enroll`` that machinery was about
    a quarter of the worker's CPU per enrollment (the interpreter's modules have
    seven handlers that temporalio inspects at every import). The interpreter is
    ours, not operators' code: it keeps no state between runs, reads time only
    through ``workflow.now()``, touches the world only through activities, and
    imports only pure models (all passed through the sandbox anyway). So the worker
    process runs it directly. The tests build workers with the sandbox
    (``build_worker``'s default), so every workflow test still runs the interpreter
    under the sandbox, and the replay tests check its determinism against recorded
    histories.
    """

    def __init__(self, sandboxed: WorkflowRunner) -> None:
        self.sandboxed = sandboxed
        self.direct = UnsandboxedWorkflowRunner()

    def _for(self, defn: _Definition) -> WorkflowRunner:
        return self.direct if defn.cls is JourneyWorkflow else self.sandboxed

    def prepare_workflow(self, defn: _Definition) -> None:
        self._for(defn).prepare_workflow(defn)

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return self._for(det.defn).create_instance(det)

    def set_worker_level_failure_exception_types(
        self, types: Sequence[type[BaseException]]
    ) -> None:
        self.sandboxed.set_worker_level_failure_exception_types(types)
        self.direct.set_worker_level_failure_exception_types(types)


def _byte_compile_workflows() -> None:
    """Write the bytecode of ``workflows/`` once, at start.

    The sandbox imports the workflow modules afresh for every workflow instance. Where
    PYTHONDONTWRITEBYTECODE is set (many container images set it) no .pyc is ever
    written, so each instance compiled them from source: a fifth of the worker's CPU in
    ``bench.enroll``. compileall writes regardless; a read-only install keeps going.
    """
    with contextlib.suppress(OSError):
        compileall.compile_dir(Path(__file__).parent, quiet=2)
