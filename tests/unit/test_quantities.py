"""Quantities follow Kubernetes' grammar exactly (checked against the kubernetes client)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kubernetes.utils.quantity import parse_quantity as k8s_parse_quantity

from pulumi_kubevirt.provider.models import parse_duration, parse_quantity, quantity_bytes


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("128Mi", 128 * 2**20),
        ("1Gi", 2**30),
        ("1024M", 1024 * 10**6),
        ("2G", 2 * 10**9),
        ("1.5Gi", 3 * 2**29),
        ("512MiB", 512 * 2**20),
        ("1e9", 10**9),
        ("100", 100),
    ],
)
def test_examples(text: str, value: int) -> None:
    assert quantity_bytes(text) == value


@pytest.mark.parametrize("text", ["", "1Gb", "one", "1 Gi", "--1", "1Zi", "Mi"])
def test_malformed_quantity_names_the_value(text: str) -> None:
    with pytest.raises(ValueError, match="quantity"):
        parse_quantity(text)


@pytest.mark.parametrize("text", ["0", "-1Gi", "0.5"])
def test_bytes_must_be_positive_whole(text: str) -> None:
    with pytest.raises(ValueError):
        quantity_bytes(text)


@given(
    number=st.integers(min_value=0, max_value=10**6),
    suffix=st.sampled_from(["", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti", "m"]),
)
def test_agrees_with_kubernetes_client(number: int, suffix: str) -> None:
    text = f"{number}{suffix}"
    assert parse_quantity(text) == Decimal(k8s_parse_quantity(text))


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("1h30m", 5400), ("1.5m", 90)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "5x", "m10", "10m junk"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
