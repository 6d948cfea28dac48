"""The planner's simulation of an MME's instances: memory LRU, disk cache, routing, queueing, recommendation."""
from __future__ import annotations

import pytest

from client.plan.memory import MIB, memory_cost
from client.plan.planner import cheapest, plan
from client.plan.simulator import InstanceSpec, Model, Result, Trace, simulate

MB = 10**6


def model(name: str, unpacked: int = MB, compressed: int = MB, load: float = 1.0, invoke: float = 0.01) -> Model:
    return Model(name, compressed, unpacked, load, invoke)


def spec(models: int = 2, vcpu: int = 4, volume: int = 10**12, price: float = 1.0,
         name: str = "ml.test") -> InstanceSpec:
    """An instance whose memory for models holds `models` models of 1 MB."""
    return InstanceSpec(name, vcpu, models * memory_cost(MB), volume, price)


def spaced(*models: int, gap: float = 10.0) -> Trace:
    """One request every `gap` seconds: no two overlap, so latency is the request's own work."""
    return Trace([i * gap for i in range(len(models))], list(models))


def test_memory_unloads_the_least_recently_used_model_to_load_a_new_one():
    a, b, c = model("a"), model("b"), model("c")

    result = simulate(spec(models=2), 1, [a, b, c], spaced(0, 1, 0, 2, 1, 0))

    # a b (loads) a (hit) c (evicts b, the least recently used) b (evicts a) a (evicts c)
    assert (result.loads, result.memory_hits, result.evictions) == (5, 1, 3)
    assert result.peak_loaded == [2]


def test_a_model_bigger_than_the_memory_is_counted_as_too_large():
    huge = model("huge", unpacked=300 * MB)

    result = simulate(spec(models=2), 1, [huge], spaced(0))

    assert result.too_large == 1


def test_a_model_unloaded_from_memory_but_on_disk_loads_without_a_download():
    # GIVEN one model in memory at a time, loads of 1 s and downloads of 2 s (2 MB at 1 MB/s)
    a, b = model("a", compressed=2 * MB), model("b", compressed=2 * MB)

    result = simulate(spec(models=1), 1, [a, b], spaced(0, 1, 0, 1, 0), download_rate=MB)

    # THEN only the first two loads downloaded: the last three found the artifact on disk
    assert (result.loads, result.disk_hits) == (5, 3)
    assert result.p50 == pytest.approx(1.0 + 0.01) and result.p99 == pytest.approx(1.0 + 2.0 + 0.01)


def test_the_disk_cache_deletes_the_least_recently_used_artifact_when_the_volume_is_full():
    a, b = model("a", compressed=2 * MB), model("b", compressed=2 * MB)

    result = simulate(spec(models=1, volume=3 * MB), 1, [a, b], spaced(0, 1, 0, 1, 0), download_rate=MB)

    assert (result.loads, result.disk_hits, result.disk_evictions) == (5, 0, 4)
    assert result.p50 == pytest.approx(1.0 + 2.0 + 0.01)


def test_a_request_goes_to_the_instance_that_has_its_model_loaded():
    # GIVEN two instances that each hold one model, and two models asked for in turn
    a, b = model("a"), model("b")

    result = simulate(spec(models=1), 2, [a, b], spaced(0, 1, 0, 1, 0, 1))

    # THEN each model is loaded once, on its own instance, and every later request finds it there
    assert (result.loads, result.memory_hits, result.evictions) == (2, 4, 0)
    assert result.peak_loaded == [1, 1]


def test_requests_beyond_the_vcpus_wait_their_turn():
    a = model("a", invoke=1.0)
    warm_then_burst = Trace([0.0, 100.0, 100.0, 100.0], [0, 0, 0, 0])

    one = simulate(spec(vcpu=1), 1, [a], warm_then_burst)
    three = simulate(spec(vcpu=3), 1, [a], warm_then_burst)

    assert one.p99 == pytest.approx(3.0)  # the third of the burst waited for two invokes
    assert three.p99 == pytest.approx(0.01 + 1.0 + 1.0)  # the cold first request: download, load, invoke


def test_a_request_for_a_model_still_loading_waits_for_its_load():
    a = model("a", compressed=0, load=5.0, invoke=0.0)

    result = simulate(spec(), 1, [a], Trace([0.0, 1.0], [0, 0]))

    assert result.memory_hits == 1 and result.p50 == pytest.approx(4.0)  # loaded at 5 s, asked at 1 s


def test_requests_in_the_warm_up_fill_the_caches_but_are_not_counted():
    a, b = model("a"), model("b")

    result = simulate(spec(), 1, [a, b], spaced(0, 1, 0, 1, 0), warm_up=15.0)  # the first two, at 0 s and 10 s

    assert (result.requests, result.loads, result.memory_hits) == (3, 0, 3)
    assert result.duration == 20.0 and result.p99 == pytest.approx(0.01)


def test_the_recommendation_is_the_cheapest_configuration_meeting_the_target():
    results = [Result("ml.big", 1, p99=0.1, price_per_hour=2.0), Result("ml.small", 2, p99=0.25, price_per_hour=0.8),
               Result("ml.small", 1, p99=0.9, price_per_hour=0.4), Result("ml.tiny", 3, p99=0.2, price_per_hour=0.6,
                                                                          too_large=1)]

    assert cheapest(results, 0.3) == results[1]
    assert cheapest(results, 0.05) is None


def test_a_plan_tries_counts_until_one_meets_the_target_and_recommends_the_cheapest_type():
    # GIVEN forty models, of which an instance of the small type holds four and of the large type forty
    models = [model(f"m{i}", invoke=0.01) for i in range(40)]
    trace = Trace([i * 0.5 for i in range(8000)], [i % 40 for i in range(8000)])  # 40 cold loads: 0.5 %
    small, large = spec(models=4, price=0.09, name="ml.small"), spec(models=40, price=1.0, name="ml.large")

    done = plan([small, large], [1, 2, 10], models, trace, target_p99=0.05)

    # THEN ten small instances hold every model (cheaper than one large), and no count past a meeting one is tried
    assert (done.recommended.type, done.recommended.count) == ("ml.small", 10)
    assert [(r.type, r.count) for r in done.results] == [("ml.small", 1), ("ml.small", 2), ("ml.small", 10),
                                                         ("ml.large", 1)]


def test_every_request_is_a_hit_or_a_load_at_scale():
    from client.plan.catalog import synthetic
    from client.plan.traffic import zipf_trace

    models, _ = synthetic(5_000, 20 * MB).models()
    trace = zipf_trace(5_000, 200.0, 1.1, 50_000, seed=3)

    result = simulate(InstanceSpec("ml.test", 8, 4096 * MIB, 30 * 10**9), 3, models, trace)

    assert result.requests == 50_000 == result.memory_hits + result.loads
    assert 0 < result.hit_rate < 1
    assert result.evictions >= result.loads - sum(result.peak_loaded)  # what is still loaded was never evicted
    assert result.p50 <= result.p99
