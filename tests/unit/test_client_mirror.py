"""Live mirroring without a network: the spec's rules, the sampler, the bounded queue, the comparison."""
import random
import threading

import pytest

from client.errors import AliasClientError
from client.mirror import Mirrors, MirrorSpec, agrees
from client.routing import Target
from waiting import wait_until

CANDIDATE = Target("fraud", 8, "fraud_v8.tar.gz", 100.0, "mme-registry-local", "mxnet")
SPEC = {"alias": "fraud-prod", "to": "fraud:8", "fraction": 0.1}


def test_a_mirror_spec_names_the_alias_the_candidate_version_and_the_share():
    assert MirrorSpec.parse(SPEC) == MirrorSpec("fraud-prod", "fraud", 8, 0.1)
    assert MirrorSpec.parse({**SPEC, "to": "team-a/fraud:12", "fraction": 1}).model == "team-a/fraud"


@pytest.mark.parametrize("spec, rule", [
    ({**SPEC, "fraction": 0}, "'fraction' must be a number in \\(0, 1\\]"),
    ({**SPEC, "fraction": 1.5}, "'fraction' must be a number in \\(0, 1\\]"),
    ({**SPEC, "fraction": True}, "'fraction' must be a number"),
    ({**SPEC, "to": "fraud"}, "'to' must be 'model:version'"),
    ({**SPEC, "to": "fraud:0"}, "'to' must be 'model:version'"),
    ({**SPEC, "alias": ""}, "'alias' must name an alias"),
    ({"alias": "fraud-prod", "to": "fraud:8"}, "expected"),
])
def test_a_mirror_spec_breaking_a_rule_is_refused_naming_it(spec, rule):
    with pytest.raises(AliasClientError, match=rule):
        MirrorSpec.parse(spec)


class Sent:
    """The mirror's send function: keeps what it is asked to send, and can be held to fill the queue."""

    def __init__(self):
        self.copies = []
        self.release = threading.Event()
        self.release.set()
        self.done = threading.Event()

    def __call__(self, alias, candidate, params, answer):
        self.release.wait(10)
        self.copies.append((alias, candidate, params, answer))
        self.done.set()


def test_the_sampler_mirrors_about_the_fraction_asked_and_only_the_mirrored_alias():
    sent = Sent()
    mirrors = Mirrors({"fraud-prod": (MirrorSpec.parse(SPEC), CANDIDATE)}, sent, rng=random.Random(11),
                      queue_size=10_000)
    offered = sum(mirrors.offer("fraud-prod", {"Body": b"{}"}, b"{}") for _ in range(5000))
    assert not mirrors.offer("other-alias", {"Body": b"{}"}, b"{}")
    mirrors.close()
    assert 400 <= offered <= 600  # 10 % of 5000, binomial: within 5 standard deviations of 500
    assert len(sent.copies) == offered


def test_the_copy_goes_to_the_candidates_target_model_and_endpoint_with_the_answer_given():
    sent = Sent()
    mirrors = Mirrors({"fraud-prod": (MirrorSpec.parse({**SPEC, "fraction": 1}), CANDIDATE)}, sent)
    mirrors.offer("fraud-prod", {"EndpointName": "other", "TargetModel": "fraud_v7.tar.gz", "Body": b"[1]"}, b"[0.5]")
    mirrors.close()
    ((alias, candidate, params, answer),) = sent.copies
    assert (alias, candidate, answer) == ("fraud-prod", CANDIDATE, b"[0.5]")
    assert params == {"EndpointName": "mme-registry-local", "TargetModel": "fraud_v8.tar.gz", "Body": b"[1]"}


def test_a_call_the_candidate_answered_itself_is_not_mirrored():
    sent = Sent()
    mirrors = Mirrors({"fraud-prod": (MirrorSpec.parse({**SPEC, "fraction": 1}), CANDIDATE)}, sent)
    assert not mirrors.offer("fraud-prod", {"TargetModel": "fraud_v8.tar.gz"}, b"{}")
    assert mirrors.offer("fraud-prod", {"TargetModel": "fraud_v7.tar.gz"}, b"{}")
    mirrors.close()
    assert len(sent.copies) == 1


def test_a_full_queue_skips_the_mirror_and_counts_it_without_blocking():
    # GIVEN a worker held on its first copy and a queue of two
    sent = Sent()
    sent.release.clear()
    mirrors = Mirrors({"fraud-prod": (MirrorSpec.parse({**SPEC, "fraction": 1}), CANDIDATE)}, sent, queue_size=2)
    mirrors.offer("fraud-prod", {}, b"{}")
    wait_until(lambda: mirrors._queue.qsize() == 0, 10, "the worker taking the first copy")  # it waits in send
    # WHEN three more calls are sampled
    taken = [mirrors.offer("fraud-prod", {}, b"{}") for _ in range(3)]
    # THEN two are queued, the third is skipped and counted
    assert taken == [True, True, False] and mirrors.skipped == 1 and mirrors.offered == 4
    sent.release.set()
    mirrors.close()
    assert len(sent.copies) == 3


def test_json_answers_agree_by_top1_and_other_answers_by_their_bytes():
    assert agrees(b'{"predictions": [[0.1, 0.9]]}', b'{"predictions": [[0.3, 0.7]]}')
    assert not agrees(b'{"predictions": [[0.1, 0.9]]}', b'{"predictions": [[0.7, 0.3]]}')
    assert agrees(b'{"score": 1}', b'{"score": 1}') and not agrees(b'{"score": 1}', b'{"score": 2}')
    assert agrees(b"\x93NUMPY", b"\x93NUMPY") and not agrees(b"\x93NUMPY", b"\x93NUMPX")
