"""Activities of the journey interpreter: everything that touches the world.

Each activity persists the trace entries its input carries (idempotently, by seq)
before doing its own work, so the interpreter needs no activity of its own for the
trace. Sends are idempotent by key: the delivery is stored before the provider call,
and a retry that finds a finished delivery returns its stored result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import channel_state, eligibility
from activities.channels.base import ChannelAdapter, ChannelRequest, ChannelResult
from activities.eligibility import Verdict
from activities.recipients import for_guardian, most_recently_active, recipient_of
from engine.compliance import guardians
from engine.compliance.policy import read_policy
from engine.contracts.journey import (
    ActivityBase,
    BranchInput,
    BranchResult,
    ChangeResult,
    EscalateInput,
    EscalateResult,
    FinishInput,
    FinishResult,
    HandoffInput,
    HandoffResult,
    OrderInput,
    OrderResult,
    ReadDateInput,
    ReadDateResult,
    SendInput,
    SendResult,
    TagInput,
    TraceInput,
    TraceResult,
    UpdateInput,
    UpdateResult,
)
from engine.errors import NotFound, TemplateError
from engine.expressions.clock import parse_when
from engine.expressions.context_refs import resolve
from engine.expressions.templating import render, render_value, scope_for
from engine.models.common import ChannelName
from engine.models.compliance import FrequencyCap
from engine.models.message import Message
from engine.models.workspace import JourneyBundle
from engine.settings import get_settings
from engine.store import ActivityStore, Customer, DeliveryRecord, HandoffTask
from engine.store.sql import SqlStore
from rules.evaluate import evaluate
from rules.models import parse_rule
from rules.view import CustomerView


class JourneyActivities:
    """The interpreter's activities, bound to a store and the channel adapters.

    ``caps`` (default: the deployed ``compliance`` document's, else the settings') and
    ``timezone`` (where the caps' days and months are counted; default: the settings').
    """

    def __init__(
        self,
        store: ActivityStore,
        adapters: Mapping[ChannelName, ChannelAdapter],
        *,
        caps: Sequence[FrequencyCap] | None = None,
        timezone: str | None = None,
    ) -> None:
        self.store = store
        self.adapters = adapters
        compliance = get_settings().compliance
        self.caps = None if caps is None else list(caps)
        self.timezone = timezone or compliance.timezone

    def all(self) -> list[Any]:
        """Every activity, for the worker to register."""
        return [
            self.send_channel,
            self.channel_order,
            self.create_handoff,
            self.escalate_handoff,
            self.evaluate_branch,
            self.apply_tags,
            self.update_profile,
            self.read_date,
            self.finish_enrollment,
            self.store_trace,
        ]

    # helpers ------------------------------------------------------------------------------

    def _begin(
        self, arg: ActivityBase, *, store_trace: bool = True
    ) -> tuple[JourneyBundle, Customer]:
        """The bundle and the customer; the pending trace is stored first unless the
        activity stores it with its own write (``store_trace=False``)."""
        if store_trace:
            self.store.append_trace(arg.enrollment_id, arg.trace)
        return self.store.get_bundle(arg.journey_id, arg.version), self.store.get_customer(
            arg.customer_id
        )

    def _scope(
        self, arg: ActivityBase, bundle: JourneyBundle, customer: Customer
    ) -> dict[str, Any]:
        journey = {"id": bundle.journey.id, "name": bundle.journey.name, "version": bundle.version}
        return scope_for(customer.template_scope(), arg.context, journey)

    # sending ------------------------------------------------------------------------------

    @activity.defn(name="send_channel")
    def send_channel(self, arg: SendInput) -> SendResult:
        """Send one message on one channel, at most once per idempotency key."""
        # The pending trace is stored with the delivery record (one write), or on its
        # own when no delivery is begun (``_not_sent``).
        bundle, customer = self._begin(arg, store_trace=False)
        message = bundle.messages[arg.message]
        tz = customer.timezone or bundle.timezone
        policy = read_policy(self.store)
        # A minor's message goes to a guardian with consent, never to the child: every
        # check below is of the guardian (``to``); the content is still the child's.
        to, verdict = self._addressee(customer, arg.channel, message.purpose, arg.now, tz)
        state = channel_state.read(self.store, arg.channel, message, to.id, arg.now)
        verdict = verdict or eligibility.check(
            arg.channel, message, to, arg.now, tz, bundle.journey.quiet_hours, state, policy
        )
        if verdict is not None:
            detail = for_guardian(to, customer, verdict.reason)
            refused = SendResult(outcome=verdict.outcome, detail=detail, retry_at=verdict.retry_at)
            return self._not_sent(arg, refused)
        content = self._content(arg, bundle, customer, message)
        if isinstance(content, SendResult):
            return self._not_sent(arg, content)
        # Reserved before the delivery record: a retry (same key) finds its own slot.
        capped = channel_state.reserve(
            self.store,
            policy.frequency_caps if self.caps is None else self.caps,
            self.timezone,
            key=arg.idempotency_key,
            channel=arg.channel,
            message=message,
            customer_id=to.id,
            now=arg.now,
        )
        if capped is not None:
            return self._not_sent(
                arg, SendResult(outcome="skipped", detail=for_guardian(to, customer, capped))
            )
        earlier = self._begin_delivery(arg, customer)
        if earlier is not None:
            return earlier
        request = ChannelRequest(
            channel=arg.channel,
            idempotency_key=arg.idempotency_key,
            recipient=recipient_of(to),
            content=content,
        )
        result: ChannelResult = self.adapters[arg.channel].send(request)
        detail = for_guardian(to, customer, result.detail)
        self.store.end_delivery(
            arg.idempotency_key, result.outcome.value, detail, result.provider_ref
        )
        channel_state.record(
            self.store, arg.channel, message, to.id, result, arg.now, bundle.timezone, state
        )
        channel_state.release(self.store, arg.idempotency_key, result.outcome.value)
        if result.outcome.value == "transient":
            raise ApplicationError(
                result.detail or "transient provider failure",
                type="transient",
                next_retry_delay=_delay(result.retry_after_seconds),
            )
        return SendResult(
            outcome=result.outcome.value, detail=detail, provider_ref=result.provider_ref
        )

    def _not_sent(self, arg: SendInput, result: SendResult) -> SendResult:
        """``result`` of a send that begins no delivery: its pending trace is stored on
        its own."""
        self.store.append_trace(arg.enrollment_id, arg.trace)
        return result

    def _content(
        self, arg: SendInput, bundle: JourneyBundle, customer: Customer, message: Message
    ) -> dict[str, Any] | SendResult:
        """The channel's content block rendered for the customer, or a CONFIG result
        naming the template error."""
        content_model = getattr(message, arg.channel)
        try:
            content: dict[str, Any] = render_value(
                content_model.model_dump(mode="json", exclude_none=True),
                self._scope(arg, bundle, customer),
            )
        except TemplateError as exc:
            return SendResult(outcome="config", detail=f"template: {exc}")
        return content

    def _begin_delivery(self, arg: SendInput, customer: Customer) -> SendResult | None:
        """Store the delivery (with the pending trace) before the provider call; None
        when the call may be made, else the result of an earlier attempt of the key."""
        existing = self.store.begin_delivery(
            DeliveryRecord(
                key=arg.idempotency_key,
                enrollment_id=arg.enrollment_id,
                step=arg.step,
                channel=arg.channel,
                at=arg.now,
                customer_id=customer.id,
            ),
            arg.trace,
        )
        if existing is None:
            return None
        if existing.status == "done":
            # A retry after a refusal took the given-back slot again: return it.
            channel_state.release(self.store, arg.idempotency_key, existing.outcome)
            return SendResult(
                outcome=existing.outcome or "unknown",
                detail=existing.detail,
                provider_ref=existing.provider_ref,
            )
        if arg.channel != "wechat_template":
            # A previous attempt died during the call: it may have reached the provider.
            # Never call again; close the record so it explains itself.
            detail = "earlier attempt outcome unknown"
            self.store.end_delivery(arg.idempotency_key, "unknown", detail, None)
            return SendResult(outcome="unknown", detail=detail)
        # wechat_template carries client_msg_id: the platform drops a repeat itself.
        return None

    def _addressee(
        self, customer: Customer, channel: ChannelName, purpose: str, now: datetime, tz: str
    ) -> tuple[Customer, Verdict | None]:
        """Who a send for ``customer`` goes to: themselves, or a minor's guardian (with a
        skip when no guardian can take it)."""
        if not guardians.is_minor(customer, now, tz):
            return customer, None
        linked = [self.store.get_customer(g) for g in self.store.guardians_of(customer.id)]
        guardian = guardians.addressee(channel, purpose, linked)
        if guardian is None:
            why = guardians.no_guardian_reason(purpose, channel, len(linked))
            return customer, Verdict("skipped", why)
        return guardian, None

    @activity.defn(name="channel_order")
    def channel_order(self, arg: OrderInput) -> OrderResult:
        """Put the customer's preferred channel first: the ``preferred_channel``
        attribute, else ``last_active_channel``, else the channel of the customer's most
        recent own action (a WeChat message or scan, a WeCom contact, an SMS reply)."""
        _, customer = self._begin(arg)
        preferred = customer.attributes.get("preferred_channel")
        if preferred is None:
            active = customer.attributes.get("last_active_channel")
            preferred = active if isinstance(active, str) else None
        if preferred is None:
            preferred = most_recently_active(customer, arg.channels)
        channels = list(arg.channels)
        if preferred in channels:
            channels.remove(preferred)
            channels.insert(0, preferred)
        return OrderResult(channels=channels)

    # handoffs -----------------------------------------------------------------------------

    @activity.defn(name="create_handoff")
    def create_handoff(self, arg: HandoffInput) -> HandoffResult:
        """Create (once) the task a human works: queue, clinic, call script, due time."""
        bundle, customer = self._begin(arg, store_trace=False)  # stored with the task
        scope = self._scope(arg, bundle, customer)
        script = None
        if arg.message:
            phone = bundle.messages[arg.message].phone
            if phone is not None:
                script = render(phone.script, scope)
        # A step without a clinic (the phone channel's call task, a handoff that names
        # none) goes to the customer's own clinic, so its clinic's staff see it.
        own = customer.attributes.get("clinic_id")
        clinic = render(arg.clinic, scope) if arg.clinic else (str(own) if own else None)
        digest = hashlib.sha1(f"{arg.enrollment_id}|{arg.step}|{arg.now.isoformat()}".encode())
        task = HandoffTask(
            id=f"T-{digest.hexdigest()[:10]}",
            enrollment_id=arg.enrollment_id,
            customer_id=arg.customer_id,
            journey_id=arg.journey_id,
            step=arg.step,
            queue=arg.queue,
            clinic=clinic,
            script=script,
            created_at=arg.now,
            due_at=arg.due_at,
        )
        return HandoffResult(task_id=self.store.create_task(task, arg.trace).id)

    @activity.defn(name="escalate_handoff")
    def escalate_handoff(self, arg: EscalateInput) -> EscalateResult:
        """Move an overdue task to the escalation queue."""
        self._begin(arg)
        return EscalateResult(task_id=self.store.escalate_task(arg.task_id, arg.queue).id)

    # profile ------------------------------------------------------------------------------

    @activity.defn(name="evaluate_branch")
    def evaluate_branch(self, arg: BranchInput) -> BranchResult:
        """Index of the first case whose rule holds for the customer now."""
        bundle, customer = self._begin(arg)
        segments = {sid: seg.rule for sid, seg in bundle.segments.items()}
        view: CustomerView = customer.view()
        for i, raw in enumerate(arg.rules):
            rule = parse_rule(resolve(raw, arg.context))
            if evaluate(rule, view, now=arg.now, segments=segments, context=arg.context):
                return BranchResult(index=i)
        return BranchResult(index=None)

    @activity.defn(name="apply_tags")
    def apply_tags(self, arg: TagInput) -> ChangeResult:
        """Add and remove tags, recorded as set by this journey."""
        self._begin(arg)
        source = f"journey:{arg.journey_id}/{arg.step}"
        changed = self.store.change_tags(arg.customer_id, arg.add, arg.remove, source)
        return ChangeResult(changed=changed)

    @activity.defn(name="update_profile")
    def update_profile(self, arg: UpdateInput) -> UpdateResult:
        """Set profile attributes; text values are templates. Names the customer's other
        running enrollments that wait on a changed attribute: the workflow signals them."""
        bundle, customer = self._begin(arg)
        try:
            values = render_value(arg.values, self._scope(arg, bundle, customer))
        except TemplateError as exc:
            raise ApplicationError(str(exc), type="TemplateError", non_retryable=True) from None
        changed = self.store.set_attributes(arg.customer_id, values)
        return UpdateResult(
            changed=changed,
            values={name: values[name] for name in changed},
            waiting=self._waiting_on(arg, set(changed)),
        )

    def _waiting_on(self, arg: UpdateInput, changed: set[str]) -> list[str]:
        # Only the SQL store knows the customer's other enrollments; a simulation's
        # memory store runs one enrollment, which is running this step, not waiting.
        if not changed or not isinstance(self.store, SqlStore):
            return []
        running = self.store.list_enrollments(customer_id=arg.customer_id, status="running")
        return [
            e.id
            for e in running
            if e.id != arg.enrollment_id
            and self.store.get_bundle(e.journey_id, e.version).journey.date_attributes() & changed
        ]

    @activity.defn(name="read_date")
    def read_date(self, arg: ReadDateInput) -> ReadDateResult:
        """A date attribute of the customer as an aware datetime (None when missing)."""
        bundle, customer = self._begin(arg)
        raw: Any = customer.attributes
        for part in arg.attribute.split("."):
            raw = raw.get(part) if isinstance(raw, dict) else None
        tz = customer.timezone or bundle.timezone
        value = parse_when(raw, tz)
        return ReadDateResult(value=value, detail="" if value else f"{arg.attribute} is {raw!r}")

    @activity.defn(name="store_trace")
    def store_trace(self, arg: TraceInput) -> TraceResult:
        """Store the pending trace (idempotent by seq) and nothing else."""
        self.store.append_trace(arg.enrollment_id, arg.trace)
        return TraceResult(stored=len(arg.trace))

    @activity.defn(name="finish_enrollment")
    def finish_enrollment(self, arg: FinishInput) -> FinishResult:
        """Record how the enrollment ended, with its last trace entries."""
        try:
            self.store.finish_enrollment(
                arg.enrollment_id, arg.status, arg.exit_reason, arg.variant, arg.now, arg.trace
            )
        except NotFound:
            # Not enrolled through the store (a bare simulation): keep the trace anyway.
            self.store.append_trace(arg.enrollment_id, arg.trace)
            return FinishResult(recorded=False)
        return FinishResult()


def _delay(seconds: float | None) -> Any:
    return timedelta(seconds=seconds) if seconds else None
