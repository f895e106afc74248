"""Attributes of the loss networks (Table I and the per-layer variables of Pihlgren et al.), measured on the models.

Nothing is copied from the paper: every value comes from torchvision's model, built with
``build_model(arch, "random")`` (no value depends on the weights), traced once per architecture with
``torchvision.models.feature_extraction.create_feature_extractor`` in eval mode (auxiliary heads are off).
The truncated graph of a layer is the set of graph nodes the layer's node depends on, exactly what
``create_feature_extractor(model, return_nodes=[module_path])`` keeps after pruning; the whole model is the
graph up to the last eval node of ``get_graph_node_names``.

Columns of :func:`layer_attributes` (one row per layer E, S, M, L):

- ``params_to_layer``: parameters of the modules called in the truncated graph (each module once) plus
  parameters fetched by ``get_attr``; ``params_total`` the same for the whole model; ``params_fraction`` their ratio.
- ``mflops_*``: the paper's "MFLOPS", which are multiply-accumulates: ``FlopCounterMode`` total / 2 / 1e6 for one
  224x224 image (the convention of torchvision's ``_ops`` metadata). Only matrix products (conv, linear, matmul)
  are counted, not pooling, normalisation or activations; the paper's values are 0.2-5% higher.
- ``depth_*``: the longest chain of matrix products (Conv/Linear modules, functional conv/linear/matmul) on any
  path of the graph from the input to the node: ``depth(node) = max(depth(inputs)) + [node is a matrix product]``.
  torchvision.ops blocks are leaves of the feature-extraction trace (Conv2dNormActivation, SqueezeExcitation,
  StochasticDepth); they are traced on their own and contribute the longest chain inside them (1 and 2 for the
  first two). Squeeze-and-excitation therefore adds 2 to every MBConv block of EfficientNet, whose longest chain is
  expand -> depthwise -> SE fc1 -> SE fc2 (gate) -> project: efficientnet_b0 measures 82 and efficientnet_b7 274
  where the paper says 81 and 271 (without the SE convs they would be 50 and 164; the paper does not say how it
  counted). inception_v3 measures 48 (its usual "48 layers deep"); the paper says 49. The other 11 architectures
  match the paper's depths exactly.
- ``channels`` and ``features_<size>``: C and C*H*W of the layer output for a (1, 3, size, size) input.
- ``skip``: some add/cat node has an input that is an ancestor of another of its inputs (residual or dense
  shortcut). ``branch``: some cat node merges two inputs that each went through a matrix product since their
  common ancestors, or a conv is grouped with 1 < groups < in_channels (ResNeXt; depthwise convs do not count).
  ``conv1x1``: some Conv2d has a 1x1 kernel. ``batchnorm``: some BatchNorm module is used. The flags cover the
  whole architecture, including the inside of torchvision.ops leaves.
- ``weights_entry``, ``eval_crop``, ``gflops``, ``params``, ``file_size_mb``, ``min_size``: torchvision's metadata of
  the ``IMAGENET1K_V1`` entry (the default entry where there is no V1), :func:`lossnet.weights.weights_metadata`;
  ``mflops_*`` are this project's own count, to each layer.
- A ViT runs at 224 whatever the requested size (its builder fixes it; ``LossNetwork``'s ``input_size=None``), so
  its ``features_<size>`` are those at 224; ViT tokens count as the (C, h, w) map they become (class token dropped).
- ``imagenet_top1``: ``acc@1`` of torchvision's ``IMAGENET1K_V1`` metadata (NaN where there is none). For
  efficientnet_b7 that is 84.122, measured at 600 px (weights ported from TensorFlow); the paper's Table I lists
  78.642. ``imagenet_top1_source`` says so on every row (the weights, and the evaluation crop size), and the
  correlations with ImageNet accuracy use these figures, not the paper's.
"""

from __future__ import annotations

import functools
import itertools
import operator
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pandas as pd
import torch
import torchvision
from torch import fx, nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

from .network import planned_side
from .stages import as_map, family_of
from .weights import build_model, weights_metadata
from .zoo import LAYER_LABELS, get_architecture

# Targets of call_function / call_method nodes (functions and method names).
_MATMULS = {F.linear, F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d,
            torch.matmul, torch.mm, torch.bmm, torch.addmm, torch.einsum, operator.matmul, "matmul", "mm", "bmm"}
_CAT = {torch.cat, torch.concat, "cat"}
_MERGES = _CAT | {operator.add, operator.iadd, torch.add, "add", "add_"}
_MATMUL_MODULES = (nn.modules.conv._ConvNd, nn.Linear)


@dataclass
class _Graph:
    """Per-node ancestor bitsets (a node is its own ancestor) and depths of one traced graph, plus flags."""

    nodes: list[fx.Node]
    ancestors: dict[fx.Node, int] = field(default_factory=dict)
    depth: dict[fx.Node, int] = field(default_factory=dict)
    skip: bool = False
    branch: bool = False


def _analyse(gm: fx.GraphModule) -> _Graph:
    graph = _Graph(list(gm.graph.nodes))
    bit = {node: 1 << i for i, node in enumerate(graph.nodes)}
    products = 0  # bitset of the nodes that contain a matrix product
    for node in graph.nodes:
        inputs = node.all_input_nodes
        graph.ancestors[node] = functools.reduce(operator.or_, (graph.ancestors[i] for i in inputs), bit[node])
        function = node.op in ("call_function", "call_method")
        step = int(function and node.target in _MATMULS)
        if node.op == "call_module":
            step, skip, branch = _leaf(gm.get_submodule(node.target))
            graph.skip, graph.branch = graph.skip or skip, graph.branch or branch
        graph.depth[node] = max((graph.depth[i] for i in inputs), default=0) + step
        products |= bit[node] if step else 0
        if function and node.target in _MERGES:
            for a, b in itertools.combinations(inputs, 2):
                anc_a, anc_b = graph.ancestors[a], graph.ancestors[b]
                graph.skip |= bool(anc_a & bit[b] or anc_b & bit[a])
                if node.target in _CAT:
                    graph.branch |= bool(anc_a & ~anc_b & products and anc_b & ~anc_a & products)
    return graph


def _leaf(module: nn.Module) -> tuple[int, bool, bool]:
    """(longest matrix-product chain, skip, branch) inside a module that the trace kept as one node."""
    if isinstance(module, _MATMUL_MODULES):
        return 1, False, False
    if type(module).__module__.startswith("torch.nn"):
        return 0, False, False
    inner = _analyse(fx.symbolic_trace(module))  # a torchvision.ops block: look inside it
    return inner.depth[inner.nodes[-1]], inner.skip, inner.branch


class _Probe(fx.Interpreter):
    """Runs the graph node by node, keeping only nodes in ``keep``; records FLOPs per node and watched outputs."""

    def __init__(self, gm: fx.GraphModule, keep: int, watch: Iterable[fx.Node], counter: FlopCounterMode):
        super().__init__(gm)
        self.index = {node: i for i, node in enumerate(gm.graph.nodes)}
        self.keep, self.watch, self.counter = keep, set(watch), counter
        self.flops: dict[fx.Node, int] = {}
        self.shapes: dict[fx.Node, torch.Size] = {}

    def run_node(self, node: fx.Node) -> Any:
        if not self.keep >> self.index[node] & 1:
            return None
        before = self.counter.get_total_flops()
        out = super().run_node(node)
        self.flops[node] = self.counter.get_total_flops() - before
        if node in self.watch:
            self.shapes[node] = out.shape
        return out


def _run(gm: fx.GraphModule, keep: int, watch: list[fx.Node], size: int) -> _Probe:
    """Run the nodes in ``keep`` on one zero image of ``size`` x ``size`` (batch 1, no grad)."""
    counter = FlopCounterMode(display=False)
    probe = _Probe(gm, keep, watch, counter)
    with torch.no_grad(), counter:
        probe.run(torch.zeros(1, 3, size, size))
    return probe


def _params(gm: fx.GraphModule, nodes: Iterable[fx.Node]) -> int:
    params: dict[int, int] = {}
    for node in nodes:
        if node.op == "call_module":
            params.update((id(p), p.numel()) for p in gm.get_submodule(node.target).parameters())
        elif node.op == "get_attr":
            value = operator.attrgetter(node.target)(gm)
            if isinstance(value, nn.Parameter):
                params[id(value)] = value.numel()
    return sum(params.values())


def _module_flags(gm: fx.GraphModule, nodes: Iterable[fx.Node]) -> dict[str, bool]:
    modules = [m for n in nodes if n.op == "call_module" for m in gm.get_submodule(n.target).modules()]
    convs = [m for m in modules if isinstance(m, nn.modules.conv._ConvNd)]
    return {
        "grouped": any(1 < m.groups < m.in_channels for m in convs),
        "conv1x1": any(isinstance(m, nn.Conv2d) and tuple(m.kernel_size) == (1, 1) for m in convs),
        "batchnorm": any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in modules),
    }


def imagenet_top1_source(arch: str) -> str:
    """Where :func:`imagenet_top1` comes from: torchvision's metadata of the weights and their evaluation size."""
    try:
        weights = torchvision.models.get_model_weights(arch).IMAGENET1K_V1
        crop = getattr(weights.transforms(), "crop_size", ["?"])
        return f"torchvision {weights} acc@1 ({crop[0]} px evaluation crop)"
    except (AttributeError, KeyError, ValueError):
        return "none (no torchvision ImageNet metadata)"


def imagenet_top1(arch: str) -> float:
    """ImageNet top-1 accuracy (%) of torchvision's ``IMAGENET1K_V1`` weights; NaN where torchvision has none."""
    try:
        weights = torchvision.models.get_model_weights(arch).IMAGENET1K_V1
        return float(weights.meta["_metrics"]["ImageNet-1K"]["acc@1"])
    except (AttributeError, KeyError, ValueError):
        return float("nan")


@functools.lru_cache(maxsize=64)
def _measure(arch: str, layers: tuple[tuple[str, str], ...], sizes: tuple[int, ...], build_key: str) -> pd.DataFrame:
    model = build_model(arch, "random")
    _, eval_nodes = get_graph_node_names(model, suppress_diff_warning=True)
    paths = list(dict.fromkeys([path for _, path in layers] + [eval_nodes[-1]]))
    gm = create_feature_extractor(model, return_nodes=paths, suppress_diff_warning=True).eval()
    output = next(n for n in gm.graph.nodes if n.op == "output").args[0]
    targets = {path: output[path] for path in paths}
    last = targets[eval_nodes[-1]]
    graph = _analyse(gm)
    full = graph.ancestors[last]
    needed = functools.reduce(operator.or_, (graph.ancestors[targets[p]] for _, p in layers))
    watch = [targets[p] for _, p in layers]
    flops = _run(gm, full, watch, 224)
    runs = {s: planned_side(arch, s) if family_of(arch).fixed_size else s for s in sizes}  # a ViT: its own side
    shapes = {s: (flops if runs[s] == 224 else _run(gm, needed, watch, runs[s])).shapes for s in sizes}

    def mapped(shape: torch.Size, path: str) -> torch.Size:
        return as_map(arch, path, torch.empty(shape, device="meta")).shape

    def members(mask: int) -> list[fx.Node]:
        return [n for i, n in enumerate(graph.nodes) if mask >> i & 1]

    flags = _module_flags(gm, graph.nodes)
    params_total = _params(gm, members(full))
    rows = []
    for label, path in layers:
        node = targets[path]
        inside = members(graph.ancestors[node])
        params_to_layer = _params(gm, inside)
        rows.append({
            "arch": arch, "layer": label, "module": path,
            "params_total": params_total, "params_to_layer": params_to_layer,
            "params_fraction": params_to_layer / params_total,
            "mflops_total": sum(flops.flops.values()) / 2e6,
            "mflops_to_layer": sum(flops.flops.get(n, 0) for n in inside) / 2e6,
            "depth_total": graph.depth[last], "depth_to_layer": graph.depth[node],
            "channels": int(mapped(flops.shapes[node], path)[1]),
            **{f"features_{s}": int(mapped(shapes[s][node], path)[1:].numel()) for s in sizes},
            "skip": graph.skip, "branch": graph.branch or flags["grouped"],
            "conv1x1": flags["conv1x1"], "batchnorm": flags["batchnorm"], "imagenet_top1": imagenet_top1(arch),
            "imagenet_top1_source": imagenet_top1_source(arch),
            **weights_metadata(arch, "imagenet"),
        })
    return pd.DataFrame(rows)


def layer_attributes(arch: str, input_sizes: Sequence[int] = (64, 224),
                     layers: str | Sequence[str] = LAYER_LABELS) -> pd.DataFrame:
    """Attributes of ``arch`` and of its layers (E/S/M/L by default; module paths, or the preset ``stages``), one
    row per layer (definitions in the module docstring).

    Results are cached per architecture (the trace and forward passes take up to seconds for EfficientNet-B7).
    """
    from .zoo import layer_preset

    spec = get_architecture(arch)
    names = layer_preset(layers, arch) if isinstance(layers, str) else layers
    layers = tuple((label, spec.module_path(label)) for label in names)
    build_key = repr(sorted(spec.build_kwargs.items()))  # re-registering an architecture invalidates the cache
    return _measure(arch, layers, tuple(int(s) for s in input_sizes), build_key).copy()


def architecture_table(archs: Iterable[str], input_sizes: Sequence[int] = (64, 224)) -> pd.DataFrame:
    """:func:`layer_attributes` of several architectures, concatenated (4 rows per architecture)."""
    return pd.concat([layer_attributes(arch, input_sizes) for arch in archs], ignore_index=True)
