"""The BENCHMARKS registry is the one source of benchmark names."""

import re
from pathlib import Path

import yaml

from lossnet.benchmarks import BENCHMARKS, benchmark_order

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src/lossnet"


def test_schema_benchmark_enum_is_the_registry():
    schema = yaml.safe_load((REPO / "schemas/config.schema.yaml").read_text())
    assert schema["properties"]["benchmarks"]["items"]["enum"] == list(BENCHMARKS)
    for name in BENCHMARKS:
        assert name in schema["properties"], f"the schema has no `{name}` section"
        assert (REPO / f"rules/benchmarks/{name}.smk").is_file()


def test_no_benchmark_name_is_spelled_outside_its_packages():
    pattern = re.compile("[\"'](" + "|".join(map(re.escape, BENCHMARKS)) + ")[\"']")
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in PACKAGE.rglob("*.py") if "benchmarks" not in path.relative_to(PACKAGE).parts
        for number, line in enumerate(path.read_text().splitlines(), start=1) if pattern.search(line)
    ]
    assert not offenders, "benchmark names belong in lossnet.benchmarks:\n" + "\n".join(offenders)


def test_entries_are_consistent():
    for name, entry in BENCHMARKS.items():
        assert entry.name == name
        assert entry.figure_metric in [metric.name for metric in entry.metrics]
        assert entry.metric(entry.figure_metric) is not None


def test_order_puts_unknown_benchmarks_last():
    assert benchmark_order(["zeta", *reversed(BENCHMARKS), "alpha"]) == [*BENCHMARKS, "alpha", "zeta"]
