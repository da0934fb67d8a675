"""A layered drawing of a directed graph (a journey's steps), computed, never drawn by
hand: pure functions, no I/O.

The steps of the classic layered method, kept small:

1. back edges: a depth-first search from the entry (then from any node it did not
   reach, in the order given) marks the edges that close a loop; the rest is acyclic;
2. layers: longest-path layering over the acyclic edges, the entry (and every other
   node without a way in) on the top layer, each node one below the lowest of the
   nodes leading to it;
3. long edges are cut into chains of small dummy points, one per layer they cross, so
   nothing is drawn through a node;
4. order: a few barycenter sweeps, down then up, reduce the crossings between
   neighbouring layers; the order with the fewest crossings is kept;
5. coordinates: each node is pulled toward the mean of its neighbours in the layer
   above, then pushed right until it clears its left neighbour;
6. back edges are drawn separately, each in its own lane right of the drawing: down
   out of the node they leave, along the gaps between layers to the lane, up, and
   down into the node they return to.

Nodes are ``node_width`` x ``node_height`` boxes; the drawing's width is the widest
layer (the graph's shape), not the number of nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

#: Sweeps of the barycenter heuristic (down and up count as one).
SWEEPS = 4


@dataclass(frozen=True)
class Sizes:
    """The drawing's measures, in SVG user units (px at scale 1)."""

    node_width: float = 184.0
    node_height: float = 64.0
    layer_gap: float = 56.0
    node_gap: float = 28.0
    dummy_width: float = 12.0
    dummy_gap: float = 8.0
    margin: float = 16.0
    lane_gap: float = 18.0
    label_room: float = 96.0  # right of everything: edge labels run rightward


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Box:
    """Where a node is drawn: its top-left corner, layer and place in the layer."""

    node: str
    layer: int
    order: int
    x: float
    y: float
    width: float
    height: float

    @property
    def center_x(self) -> float:
        return self.x + self.width / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class Route:
    """How one edge is drawn: a polyline from ``source``'s box to ``target``'s."""

    source: str
    target: str
    points: tuple[Point, ...]
    back: bool

    @property
    def label_at(self) -> Point:
        """Where the edge's label goes: along its first segment, near the source
        (a back edge: halfway up its lane)."""
        if self.back:
            a, b = self.points[2], self.points[3]
            return Point(a.x, (a.y + b.y) / 2)
        a, b = self.points[0], self.points[1]
        share = 0.5 if len(self.points) == 2 else 0.6
        return Point(a.x + (b.x - a.x) * share, a.y + (b.y - a.y) * share)


@dataclass(frozen=True)
class Layout:
    """The whole drawing: a box per node, a route per edge, and its size."""

    boxes: dict[str, Box]
    routes: tuple[Route, ...]
    width: float
    height: float
    layers: int


@dataclass
class _Graph:
    nodes: list[str]
    forward: list[tuple[str, str]] = field(default_factory=list)
    back: list[tuple[str, str]] = field(default_factory=list)


def split_back_edges(
    nodes: Sequence[str], edges: Sequence[tuple[str, str]], entry: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(forward, back): the back edges close a loop in a depth-first search from
    ``entry`` (then from the other nodes, in order); without them the graph is acyclic.
    Self-loops are back edges."""
    out: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        out[a].append(b)
    state: dict[str, int] = {}  # 1: on the search's path, 2: done
    back: set[tuple[str, str]] = set()
    for root in [entry, *nodes]:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, rest = stack[-1]
            nxt = next(rest, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(out[nxt])))
    forward = [e for e in edges if e not in back]
    return forward, [e for e in edges if e in back]


def longest_path_layers(nodes: Sequence[str], forward: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's layer: 0 without a way in, else one below its lowest predecessor
    (``forward`` must be acyclic)."""
    ins: dict[str, list[str]] = {n: [] for n in nodes}
    indegree = dict.fromkeys(nodes, 0)
    outs: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in forward:
        ins[b].append(a)
        outs[a].append(b)
        indegree[b] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    layer: dict[str, int] = {}
    while ready:
        node = ready.pop(0)
        layer[node] = max((layer[p] + 1 for p in ins[node]), default=0)
        for b in outs[node]:
            indegree[b] -= 1
            if indegree[b] == 0:
                ready.append(b)
    if len(layer) != len(nodes):
        raise ValueError("the forward edges have a cycle")
    return layer


def _with_dummies(
    layer: dict[str, int], forward: Sequence[tuple[str, str]]
) -> tuple[dict[str, int], list[tuple[str, str]], dict[tuple[str, str], list[str]]]:
    """Long edges cut into one-layer pieces through dummy nodes (``~k``)."""
    layers = dict(layer)
    pieces: list[tuple[str, str]] = []
    chains: dict[tuple[str, str], list[str]] = {}
    for a, b in forward:
        chain = [a]
        for step in range(layer[a] + 1, layer[b]):
            dummy = f"~{len(layers)}"
            layers[dummy] = step
            chain.append(dummy)
        chain.append(b)
        pieces += list(zip(chain, chain[1:], strict=False))
        chains[(a, b)] = chain
    return layers, pieces, chains


def crossings(upper: Sequence[str], lower: Sequence[str], pieces: Sequence[tuple[str, str]]) -> int:
    """How many of the edges between two neighbouring layers cross."""
    up = {n: i for i, n in enumerate(upper)}
    down = {n: i for i, n in enumerate(lower)}
    between = [(up[a], down[b]) for a, b in pieces if a in up and b in down]
    return sum(
        1
        for i, (a1, b1) in enumerate(between)
        for a2, b2 in between[i + 1 :]
        if (a1 - a2) * (b1 - b2) < 0
    )


def _total_crossings(rows: list[list[str]], pieces: Sequence[tuple[str, str]]) -> int:
    return sum(crossings(rows[i], rows[i + 1], pieces) for i in range(len(rows) - 1))


def order_layers(
    layers: dict[str, int], pieces: Sequence[tuple[str, str]], sweeps: int = SWEEPS
) -> list[list[str]]:
    """The nodes of each layer, left to right: first in the order given, then
    reordered by barycenter sweeps; the order with the fewest crossings wins."""
    rows: list[list[str]] = [[] for _ in range(max(layers.values(), default=-1) + 1)]
    for node, i in layers.items():
        rows[i].append(node)
    ups: dict[str, list[str]] = {n: [] for n in layers}
    downs: dict[str, list[str]] = {n: [] for n in layers}
    for a, b in pieces:
        downs[a].append(b)
        ups[b].append(a)
    best, fewest = [list(r) for r in rows], _total_crossings(rows, pieces)
    for _ in range(sweeps):
        for i in range(1, len(rows)):
            rows[i] = _by_barycenter(rows[i], rows[i - 1], ups)
        for i in range(len(rows) - 2, -1, -1):
            rows[i] = _by_barycenter(rows[i], rows[i + 1], downs)
        found = _total_crossings(rows, pieces)
        if found < fewest:
            best, fewest = [list(r) for r in rows], found
    return best


def _by_barycenter(row: list[str], fixed: list[str], neighbours: dict[str, list[str]]) -> list[str]:
    place = {n: i for i, n in enumerate(fixed)}

    def key(item: tuple[int, str]) -> tuple[float, int]:
        i, node = item
        near = [place[n] for n in neighbours[node] if n in place]
        return (sum(near) / len(near) if near else float(i), i)  # no neighbour: stays put

    return [node for _, node in sorted(enumerate(row), key=key)]


def _place(
    rows: list[list[str]],
    ups: dict[str, list[str]],
    width_of: dict[str, float],
    sizes: Sizes,
) -> dict[str, float]:
    """Each node's left x: pulled toward its upper neighbours' centres and pushed right
    of its left neighbour, then, right to left, back inside the widest layer's packed
    width, so pulling never makes the drawing wider than its widest layer needs."""

    def gap(a: str, b: str) -> float:
        dummy = a.startswith("~") or b.startswith("~")
        return sizes.dummy_gap if dummy else sizes.node_gap

    def packed(row: list[str]) -> float:
        return sum(width_of[n] for n in row) + sum(gap(a, b) for a, b in pairwise(row))

    limit = max((packed(r) for r in rows), default=0.0)
    left: dict[str, float] = {}
    for row in rows:
        cursor: float | None = None  # where the next node may start
        for i, node in enumerate(row):
            above = [left[n] + width_of[n] / 2 for n in ups[node] if n in left]
            wanted = sum(above) / len(above) - width_of[node] / 2 if above else None
            x = max(wanted if wanted is not None else 0.0, cursor or 0.0)
            left[node] = x
            if i + 1 < len(row):
                cursor = x + width_of[node] + gap(node, row[i + 1])
        end = limit
        for i in range(len(row) - 1, -1, -1):
            node = row[i]
            left[node] = min(left[node], end - width_of[node])
            if i > 0:
                end = left[node] - gap(row[i - 1], node)
    return {n: x + sizes.margin for n, x in left.items()}


def layered(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    entry: str,
    sizes: Sizes | None = None,
) -> Layout:
    """The layered drawing of ``nodes`` and ``edges`` (pairs of node ids; repeats are
    drawn once), ``entry`` on top."""
    sizes = sizes or Sizes()
    if entry not in nodes:
        raise ValueError(f"the entry {entry!r} is not a node")
    unique = list(dict.fromkeys(edges))
    unknown = {n for e in unique for n in e} - set(nodes)
    if unknown:
        raise ValueError(f"edges name nodes that do not exist: {sorted(unknown)}")
    forward, back = split_back_edges(nodes, unique, entry)
    layer = longest_path_layers(nodes, forward)
    layers, pieces, chains = _with_dummies(layer, forward)
    rows = order_layers(layers, pieces)
    ups: dict[str, list[str]] = {n: [] for n in layers}
    for a, b in pieces:
        ups[b].append(a)
    width_of = {n: sizes.dummy_width if n.startswith("~") else sizes.node_width for n in layers}
    left = _place(rows, ups, width_of, sizes)
    step = sizes.node_height + sizes.layer_gap
    # Room above the top layer and below the bottom one for back edges' turns.
    top = sizes.margin + (sizes.layer_gap / 2 if back else 0.0)
    boxes: dict[str, Box] = {}
    points: dict[str, Box] = {}
    for i, row in enumerate(rows):
        for order, node in enumerate(row):
            real = not node.startswith("~")
            box = Box(
                node,
                i,
                order,
                left[node],
                top + i * step,
                width_of[node],
                sizes.node_height if real else 0.0,
            )
            (boxes if real else points)[node] = box
    right = max((b.x + b.width for b in [*boxes.values(), *points.values()]), default=0.0)
    routes = [_forward_route(chains[e], boxes, points, sizes) for e in forward]
    routes += [
        _back_route(a, b, boxes, right + sizes.lane_gap * (k + 1), sizes)
        for k, (a, b) in enumerate(back)
    ]
    given = {e: i for i, e in enumerate(unique)}
    routes.sort(key=lambda r: given[(r.source, r.target)])
    width = right + sizes.lane_gap * len(back) + sizes.margin + sizes.label_room
    height = top * 2 + len(rows) * step - sizes.layer_gap
    return Layout(boxes, tuple(routes), width, height, len(rows))


def _forward_route(
    chain: list[str], boxes: dict[str, Box], points: dict[str, Box], sizes: Sizes
) -> Route:
    source, target = boxes[chain[0]], boxes[chain[-1]]
    middle = [Point(points[n].center_x, points[n].y + sizes.node_height / 2) for n in chain[1:-1]]
    return Route(
        source.node,
        target.node,
        (Point(source.center_x, source.bottom), *middle, Point(target.center_x, target.y)),
        back=False,
    )


def _back_route(
    source: str, target: str, boxes: dict[str, Box], lane: float, sizes: Sizes
) -> Route:
    """Down out of the source, right to the lane, up past the target's layer, left
    and down into it: the turns lie in the gaps between layers, clear of every box."""
    a, b = boxes[source], boxes[target]
    out_x, in_x = a.x + a.width * 0.75, b.x + b.width * 0.75
    below = a.bottom + sizes.layer_gap / 3
    above = b.y - sizes.layer_gap / 3
    return Route(
        source,
        target,
        (
            Point(out_x, a.bottom),
            Point(out_x, below),
            Point(lane, below),
            Point(lane, above),
            Point(in_x, above),
            Point(in_x, b.y),
        ),
        back=True,
    )
