"""The journey diagram's layout, without a browser: longest-path layers, back edges of
loops apart, fewer crossings after the sweeps, and on a generated 20-step journey with
branches no two boxes overlap, every edge joins its two boxes, and the drawing stays
readable in width. The graph of a journey follows the interpreter's ways onward."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.console.journey_graph import diagram_of, exits_of, goal_of, ways_out
from api.console.journey_layout import Box, Layout, crossings, layered, order_layers
from engine.models.journey import Journey
from engine.models.references import step_edges
from engine.models.workspace import JourneyBundle

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "eye-clinic" / "journeys"
#: Wider than this and a journey no longer reads on a laptop without scrolling sideways.
READABLE_WIDTH = 1400


def _overlap(a: Box, b: Box) -> bool:
    return not (a.x + a.width <= b.x or b.x + b.width <= a.x or a.bottom <= b.y or b.bottom <= a.y)


def _check(layout: Layout, edges: list[tuple[str, str]]) -> None:
    boxes = list(layout.boxes.values())
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), (a, b)
    for box in boxes:
        assert 0 <= box.x and box.x + box.width <= layout.width
        assert 0 <= box.y and box.bottom <= layout.height
    assert {(r.source, r.target) for r in layout.routes} == set(edges)
    for route in layout.routes:
        source, target = layout.boxes[route.source], layout.boxes[route.target]
        start, end = route.points[0], route.points[-1]
        # leaves the source's bottom edge and arrives on the target's top edge
        assert start.y == source.bottom and source.x <= start.x <= source.x + source.width
        assert end.y == target.y and target.x <= end.x <= target.x + target.width
        if not route.back:
            assert all(a.y < b.y for a, b in itertools.pairwise(route.points))
        for p in route.points:
            assert 0 <= p.x <= layout.width and 0 <= p.y <= layout.height


def test_layers_are_longest_paths_from_the_entry() -> None:
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")]
    layout = layered(["a", "b", "c", "d"], edges, "a")
    assert {n: b.layer for n, b in layout.boxes.items()} == {"a": 0, "b": 1, "c": 2, "d": 3}
    long = next(r for r in layout.routes if (r.source, r.target) == ("a", "c"))
    assert len(long.points) == 3  # through one dummy point on b's layer, beside b
    assert not (layout.boxes["b"].x <= long.points[1].x <= layout.boxes["b"].x + 184)
    _check(layout, edges)


def test_a_loop_is_drawn_back_in_its_own_lane() -> None:
    edges = [("call", "retry"), ("retry", "call"), ("call", "end")]
    layout = layered(["call", "retry", "end"], edges, "call")
    back = [r for r in layout.routes if r.back]
    assert [(r.source, r.target) for r in back] == [("retry", "call")]
    right = max(b.x + b.width for b in layout.boxes.values())
    assert all(p.x > right for p in back[0].points[2:4])  # the lane is right of every box
    assert layout.boxes["call"].layer == 0 and layout.boxes["retry"].layer == 1
    _check(layout, edges)


def test_sweeps_undo_a_crossing_the_given_order_makes() -> None:
    layers = {"a": 0, "b": 0, "x": 1, "y": 1}
    pieces = [("a", "y"), ("b", "x")]
    assert crossings(["a", "b"], ["x", "y"], pieces) == 1
    rows = order_layers(layers, pieces)
    assert crossings(rows[0], rows[1], pieces) == 0


def generated_journey(steps: int, seed: int) -> dict[str, Any]:
    """A journey of ``steps`` steps with branches, splits, handoffs, waits and loops."""
    rng = random.Random(seed)
    ids = [f"s{i:02d}" for i in range(steps)]
    made: list[dict[str, Any]] = []
    for i, sid in enumerate(ids[:-1]):
        # one way onward always leads to the following step: every step is reachable
        later, following = ids[i + 1 :], ids[i + 1]
        pick = rng.choice(["wait", "send", "branch", "split", "handoff", "wait_for"])
        if pick == "wait":
            made.append({"id": sid, "wait": {"duration": "1d"}})
        elif pick == "send":
            made.append({"id": sid, "send": {"message": "m", "channels": ["sms"]}})
        elif pick == "branch":
            made.append(
                {
                    "id": sid,
                    "branch": [
                        {"when": {"attribute": "x", "eq": 1}, "goto": rng.choice(later)},
                        {"else": following},
                    ],
                }
            )
        elif pick == "split":
            variants = [
                {"name": "v1", "weight": 1, "goto": following},
                {"name": "v2", "weight": 1, "goto": rng.choice(later)},
            ]
            made.append({"id": sid, "split": {"variants": variants, "holdout": 1}})
        elif pick == "handoff":
            back = ids[max(0, i - 3) : i + 1]
            outcomes = {"booked": rng.choice(later), "retry": rng.choice(back)}
            made.append({"id": sid, "handoff": {"queue": "q", "outcomes": outcomes}})
        else:
            made.append(
                {
                    "id": sid,
                    "wait_for": {"event": "e", "timeout": "2d"},
                    "on_event": rng.choice(later),
                    "on_timeout": following,
                }
            )
    made.append({"id": ids[-1], "exit": "done"})
    return {"id": "generated", "trigger": {"api": True}, "steps": made}


@pytest.mark.parametrize("seed", range(8))
def test_a_generated_20_step_journey_with_branches_reads_well(seed: int) -> None:
    journey = Journey.model_validate(generated_journey(20, seed))
    diagram = diagram_of(JourneyBundle(journey=journey))
    layout = diagram.layout
    assert set(layout.boxes) == {s.id for s in journey.steps}
    edges = [(e.source, e.target) for e in diagram.edges]
    _check(layout, edges)
    assert layout.width <= READABLE_WIDTH, layout.width


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_journey_is_drawn_whole(path: Path) -> None:
    journey = Journey.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    diagram = diagram_of(JourneyBundle(journey=journey))
    assert [n.step for n in diagram.nodes] == journey.step_ids()
    # the same ways onward as the interpreter's references
    assert {(s, t) for s, t, _ in ways_out(journey)} == {
        (journey.steps[i].id, t) for _, t, i in step_edges(journey)
    }
    _check(diagram.layout, [(e.source, e.target) for e in diagram.edges])
    assert diagram.layout.width <= READABLE_WIDTH


def test_the_edges_say_what_takes_them_and_which_can_be_counted() -> None:
    path = EXAMPLES / "payment_recovery.yaml"
    journey = Journey.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    edges = {(e.source, e.target): e for e in diagram_of(JourneyBundle(journey=journey)).edges}
    nudge = edges[("nudge", "call")]
    assert [w.kind for w in nudge.ways] == ["case", "else"]
    assert not nudge.only_way_in  # "call" has several ways in: no count on the edge
    assert edges[("remind", "wait_consult")].only_way_in
    retry = edges[("retry_later", "call")]
    assert retry.route.back
    outcomes = [(w.kind, w.name) for w in edges[("call", "retry_later")].ways]
    assert outcomes == [("outcome", "not_reached"), ("other", "")]


def test_goal_and_exits_in_the_journeys_own_terms() -> None:
    journey = Journey.model_validate(
        {
            "id": "j",
            "trigger": {"api": True},
            "goal": {"event": "appointment.booked", "within": "30d"},
            "exit_when": [{"event": "optout"}, {"segment_exited": "adults"}],
            "steps": [{"id": "a", "exit": "x"}],
        }
    )
    goal = goal_of(journey)
    assert goal is not None and (goal.name, goal.within) == ("appointment.booked", "30d")
    assert exits_of(journey) == ["optout", "adults"]
