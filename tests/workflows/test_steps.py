"""Every step kind, run by the interpreter workflow in Temporal's time-skipping server.

Each test writes a small workspace and scenario as an operator would, runs it with
``carepath simulate``'s runner against the provider simulators, and asserts on the
trace and the customer's profile afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.factories import entries, kinds, run, scenario, workspace


def journey(steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"id": "j", "trigger": {"event": "go"}, "steps": steps, **extra}


GO = {"after": "0s", "event": "go", "properties": {"item": "验光", "due_on": "2026-03-05"}}


async def test_wait_duration_then_exit(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    ws = workspace(
        tmp_path,
        [journey([{"id": "pause", "wait": {"duration": "1d12h"}}, {"id": "end", "exit": "done"}])],
    )
    result = await run(time_env, scenario(ws, "j", events=[GO]))
    out = result.as_json()
    assert out["status"] == "completed" and out["exit_reason"] == "done"
    assert kinds(result) == ["pause:wait", "end:exit"]
    assert out["trace"][1]["at"] == "2026-03-03T22:00:00+08:00"


async def test_wait_until_time_of_day_on_weekdays(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # 2026-03-06 is a Friday; the next Monday 09:00 is 2026-03-09.
    steps = [
        {"id": "monday", "wait": {"until": "09:00", "weekdays": ["mon"]}},
        {"id": "end", "exit": "done"},
    ]
    ws = workspace(tmp_path, [journey(steps)])
    path = scenario(ws, "j", events=[GO], start="2026-03-06T20:00:00+08:00")
    out = (await run(time_env, path)).as_json()
    assert out["trace"][-1]["at"] == "2026-03-09T09:00:00+08:00"


async def test_wait_until_attribute_and_context_with_offsets(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = [
        {"id": "after_fitting", "wait": {"until_attribute": "fitted_on", "offset": "2d"}},
        {
            "id": "before_due",
            "wait": {"until_context": "due_on", "offset": "12h", "offset_negative": True},
        },
        {"id": "end", "exit": "done"},
    ]
    ws = workspace(tmp_path, [journey(steps)])
    customer = {"id": "c-1", "attributes": {"name": "张三", "fitted_on": "2026-03-02"}}
    out = (await run(time_env, scenario(ws, "j", events=[GO], customer=customer))).as_json()
    ats = {e["step"]: e["at"] for e in out["trace"]}
    assert ats["before_due"] == "2026-03-04T00:00:00+08:00"  # fitted_on 00:00 local + 2d
    assert ats["end"] == "2026-03-04T12:00:00+08:00"  # due_on 2026-03-05 00:00 - 12h


async def test_wait_on_a_missing_date_fails_with_the_reason(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = [{"id": "w", "wait": {"until_attribute": "fitted_on", "offset": "1d"}}]
    ws = workspace(tmp_path, [journey(steps)])
    out = (await run(time_env, scenario(ws, "j", events=[GO]))).as_json()
    assert out["status"] == "failed"
    assert "attribute fitted_on is missing" in out["trace"][-1]["reason"]


async def test_wait_for_event_and_timeout(time_env: WorkflowEnvironment, tmp_path: Path) -> None:
    steps = [
        {
            "id": "wf",
            "wait_for": {
                "event": "paid",
                "where": {"order": "{{ context.item }}"},
                "timeout": "1d",
            },
            "on_event": "yes",
            "on_timeout": "no",
        },
        {"id": "yes", "exit": "arrived"},
        {"id": "no", "exit": "timed_out"},
    ]
    ws = workspace(tmp_path, [journey(steps)])
    other = {"after": "1h", "event": "paid", "properties": {"order": "其他"}}
    match = {"after": "2h", "event": "paid", "properties": {"order": "验光"}}
    hit = (await run(time_env, scenario(ws, "j", "hit", events=[GO, other, match]))).as_json()
    assert hit["exit_reason"] == "arrived"
    assert hit["trace"][1] == {
        "at": "2026-03-02T12:00:00+08:00",
        "step": "wf",
        "kind": "event",
        "event": "paid",
    }
    miss = (await run(time_env, scenario(ws, "j", "miss", events=[GO, other]))).as_json()
    assert miss["exit_reason"] == "timed_out"
    assert [e["kind"] for e in miss["trace"]] == ["wait_for", "timeout", "exit"]
    assert miss["trace"][1]["at"] == "2026-03-03T10:00:00+08:00"


async def test_branch_first_match_wins_with_else(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = [
        {
            "id": "b",
            "branch": [
                {"when": {"tag": "VIP"}, "goto": "vip"},
                {
                    "when": {
                        "all": [{"attribute": "age", "lt": 14}, {"context": "item", "eq": "验光"}]
                    },
                    "goto": "child",
                },
                {"else": "other"},
            ],
        },
        {"id": "vip", "exit": "vip"},
        {"id": "child", "exit": "child"},
        {"id": "other", "exit": "other"},
    ]
    ws = workspace(tmp_path, [journey(steps)])

    async def reason(name: str, attributes: dict[str, Any], tags: list[str]) -> Any:
        customer = {"id": f"c-{name}", "attributes": attributes, "tags": tags}
        out = await run(time_env, scenario(ws, "j", name, events=[GO], customer=customer))
        return out.as_json()

    vip = await reason("vip", {"age": 9}, ["VIP"])
    assert vip["exit_reason"] == "vip" and vip["trace"][0]["goto"] == "vip"
    assert (await reason("child", {"age": 9}, []))["exit_reason"] == "child"
    assert (await reason("adult", {"age": 30}, []))["exit_reason"] == "other"


async def test_split_is_deterministic_and_holdout_waits_for_the_goal(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = [
        {
            "id": "s",
            "split": {
                "variants": [
                    {"name": "a", "weight": 1, "goto": "a"},
                    {"name": "b", "weight": 1, "goto": "b"},
                ]
            },
        },
        {"id": "a", "exit": "a"},
        {"id": "b", "exit": "b"},
    ]
    ws = workspace(tmp_path / "ab", [journey(steps)])
    first = (await run(time_env, scenario(ws, "j", "one", events=[GO]))).as_json()
    again = (await run(time_env, scenario(ws, "j", "two", events=[GO]))).as_json()
    assert first["variant"] in ("a", "b") and first["variant"] == again["variant"]
    assert first["exit_reason"] == first["variant"]
    # Different customers spread over the variants.
    seen = set()
    for i in range(8):
        customer = {"id": f"c-{i}", "attributes": {}}
        out = await run(time_env, scenario(ws, "j", f"c{i}", events=[GO], customer=customer))
        seen.add(out.as_json()["variant"])
    assert seen == {"a", "b"}

    held = journey(
        [
            {
                "id": "s",
                "split": {
                    "variants": [{"name": "a", "weight": 0.0001, "goto": "a"}],
                    "holdout": 1000,
                },
            },
            {"id": "a", "exit": "a"},
        ],
        goal={"event": "paid", "within": "3d"},
    )
    ws2 = workspace(tmp_path / "holdout", [held])
    paid = {"after": "1d", "event": "paid", "properties": {}}
    out = (await run(time_env, scenario(ws2, "j", events=[GO, paid]))).as_json()
    assert out["variant"] == "holdout" and out["status"] == "converted"
    out = (await run(time_env, scenario(ws2, "j", "none", events=[GO]))).as_json()
    assert out["status"] == "exited" and out["exit_reason"] == "holdout"
    assert out["trace"][-1]["at"] == "2026-03-05T10:00:00+08:00"  # the 3d goal window


async def test_tag_and_update_change_the_profile(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = [
        {"id": "t", "tag": {"add": ["高意向", "家长"], "remove": "新客"}},
        {"id": "u", "update": {"set": {"last_item": "{{ context.item }}", "score": 5}}},
    ]
    ws = workspace(tmp_path, [journey(steps)])
    customer = {"id": "c-1", "attributes": {"name": "张三"}, "tags": ["新客"]}
    result = await run(time_env, scenario(ws, "j", events=[GO], customer=customer))
    assert result.as_json()["status"] == "completed"
    assert kinds(result) == ["t:tag", "u:update", "u:exit"]
    assert result.store is not None
    profile = result.store.get_customer("c-1")
    assert set(profile.tags) == {"高意向", "家长"}
    assert profile.tags["高意向"] == "journey:j/t"
    assert profile.attributes["last_item"] == "验光" and profile.attributes["score"] == 5


async def test_handoff_outcomes_and_escalation(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = [
        {
            "id": "call",
            "handoff": {
                "queue": "optometrist",
                "clinic": "{{ customer.clinic_id }}",
                "message": "notice",
                "due": "4h",
                "escalate_to": "clinic_manager",
                "outcomes": {"booked": "won", "declined": "lost"},
            },
        },
        {"id": "won", "exit": "booked"},
        {"id": "lost", "exit": "declined"},
    ]
    ws = workspace(tmp_path, [journey(steps)])
    quick = await run(
        time_env,
        scenario(ws, "j", "quick", events=[GO], handoffs=[{"after": "1h", "outcome": "booked"}]),
    )
    out = quick.as_json()
    assert out["exit_reason"] == "booked"
    assert [e["outcome"] for e in entries(quick, "handoff")] == ["created", "booked"]
    assert quick.store is not None
    task = quick.store.list_tasks("optometrist")[0]
    assert task.clinic == "sz-01" and task.script == "请致电张三" and task.status == "done"

    late = await run(
        time_env,
        scenario(ws, "j", "late", events=[GO], handoffs=[{"after": "6h", "outcome": "declined"}]),
    )
    handoffs = entries(late, "handoff")
    assert [e["outcome"] for e in handoffs] == ["created", "escalated", "declined"]
    assert handoffs[1]["at"] == "2026-03-02T14:00:00+08:00"
    assert late.as_json()["exit_reason"] == "declined"
    assert late.store is not None
    assert late.store.list_tasks()[0].escalated_to == "clinic_manager"


async def test_goal_and_exit_interrupt_long_waits(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = [{"id": "long", "wait": {"duration": "5d"}}, {"id": "end", "exit": "done"}]
    spec = journey(
        steps,
        goal={"event": "paid", "where": {"order": "{{ context.item }}"}, "within": "7d"},
        exit_when=[{"event": "cancelled"}],
    )
    ws = workspace(tmp_path, [spec])
    paid = {"after": "1h", "event": "paid", "properties": {"order": "验光"}}
    out = (await run(time_env, scenario(ws, "j", "goal", events=[GO, paid]))).as_json()
    assert out["status"] == "converted"
    assert out["trace"][-1] == {
        "at": "2026-03-02T11:00:00+08:00",
        "step": "long",
        "kind": "goal",
        "event": "paid",
    }
    wrong = {"after": "1h", "event": "paid", "properties": {"order": "别的"}}
    cancel = {"after": "2h", "event": "cancelled", "properties": {}}
    out = (await run(time_env, scenario(ws, "j", "exit", events=[GO, wrong, cancel]))).as_json()
    assert out["status"] == "exited"
    assert out["trace"][-1]["kind"] == "exit" and out["trace"][-1]["event"] == "cancelled"
    assert out["trace"][-1]["at"] == "2026-03-02T12:00:00+08:00"
    late = {"after": "8d", "event": "paid", "properties": {"order": "验光"}}
    out = (await run(time_env, scenario(ws, "j", "late", events=[GO, late]))).as_json()
    assert out["status"] == "completed"  # paid after the 7d window is no conversion


async def test_until_leaves_the_enrollment_waiting(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    ws = workspace(tmp_path, [journey([{"id": "long", "wait": {"duration": "30d"}}])])
    out = (await run(time_env, scenario(ws, "j", events=[GO], until="2d"))).as_json()
    assert out["status"] == "waiting" and kinds_of(out) == ["long:wait"]


def kinds_of(out: dict[str, Any]) -> list[str]:
    return [f"{e.get('step')}:{e['kind']}" for e in out["trace"]]


async def test_branch_rule_values_may_refer_to_the_context(
    time_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    steps = [
        {
            "id": "b",
            "branch": [
                {"when": {"attribute": "last_item", "eq": "{{ context.item }}"}, "goto": "same"},
                {"else": "other"},
            ],
        },
        {"id": "same", "exit": "same_item"},
        {"id": "other", "exit": "other_item"},
    ]
    ws = workspace(tmp_path, [journey(steps)])
    customer = {"id": "c-1", "attributes": {"last_item": "验光"}}
    out = (await run(time_env, scenario(ws, "j", events=[GO], customer=customer))).as_json()
    assert out["exit_reason"] == "same_item"
    customer = {"id": "c-2", "attributes": {"last_item": "配镜"}}
    out = (await run(time_env, scenario(ws, "j", "b", events=[GO], customer=customer))).as_json()
    assert out["exit_reason"] == "other_item"
