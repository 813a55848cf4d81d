"""Which replica takes the next request, and what `mint serve --upstream` accepts: the
choices the upstream engine makes before any server is involved."""

from __future__ import annotations

import pytest
import typer

from modelmint.cli.serve import parse_upstreams, replica_set
from modelmint.serving import Replica, ReplicaSet


def _set(*healthy: bool) -> ReplicaSet:
    replicas = [
        Replica(f"http://10.0.0.{i}:8000/v1", "m", healthy=h) for i, h in enumerate(healthy)
    ]
    return ReplicaSet(replicas)


def test_the_healthy_replica_with_fewest_outstanding_takes_the_request() -> None:
    fleet = _set(True, True, False)
    a, b, down = fleet.replicas
    with fleet.outstanding(a), fleet.outstanding(a), fleet.outstanding(b):
        assert fleet.pick(set()) is b
        assert fleet.pick({b}) is a  # b failed this request already
        assert fleet.pick({a, b}) is down  # a down replica is still tried last
        assert fleet.pick({a, b, down}) is None
    assert a.outstanding == b.outstanding == 0


def test_ties_take_turns() -> None:
    fleet = _set(True, True)
    assert {fleet.pick(set()).base for _ in range(4)} == {r.base for r in fleet.replicas}


def test_with_every_replica_down_the_one_down_longest_is_tried_first() -> None:
    fleet = _set(True, True)
    first, second = fleet.replicas
    fleet.mark_down(second, "refused")
    fleet.mark_down(first, "refused")
    assert fleet.pick(set()) is second
    assert "refused" in first.last_error


def test_a_replica_address_takes_v1_or_not_and_hides_its_key() -> None:
    r = Replica("https://user:pw@gpu-1.internal:8443/v1/", api_key="sk-upstream-secret")
    assert r.url("/v1/completions") == "https://user:pw@gpu-1.internal:8443/v1/completions"
    assert r.name == "gpu-1.internal:8443"  # what logs and errors show
    assert "sk-upstream-secret" not in repr(r)
    assert r.headers == {"Authorization": "Bearer sk-upstream-secret"}


def test_upstream_options_name_served_models_and_urls() -> None:
    served = ["demo", "demo@candidate"]
    got = parse_upstreams(
        [
            "demo=http://a:8000/v1",
            "demo=http://b:8000/v1#Qwen/Qwen2.5-0.5B",
            "demo@candidate=http://c:8000",
        ],
        served,
    )
    assert got == {
        "demo": ["http://a:8000/v1", "http://b:8000/v1#Qwen/Qwen2.5-0.5B"],
        "demo@candidate": ["http://c:8000"],
    }
    replicas = replica_set(got["demo"], None).replicas
    assert [r.model for r in replicas] == [None, "Qwen/Qwen2.5-0.5B"]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("http://a:8000/v1", "write NAME=URL"),
        ("demo=a:8000", "write NAME=URL"),
        ("other=http://a:8000/v1", "--model other"),
    ],
)
def test_a_bad_upstream_option_says_what_to_write(spec: str, says: str) -> None:
    with pytest.raises(typer.BadParameter, match=says):
        parse_upstreams([spec], ["demo"])
