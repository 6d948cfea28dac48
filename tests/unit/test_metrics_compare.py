"""The comparison rules a live mirror and a shadow comparison share, on the answers the backends really give."""
import json

import pytest

from chalicelib.metrics.compare import NotComparable, max_abs_diff, top1, top1_agreement, topk_overlap


def test_the_top1_of_a_score_vector_is_the_index_of_its_largest_score():
    assert top1([0.1, 0.7, 0.2]) == (1,)


def test_a_tie_goes_to_the_first_index_as_numpy_argmax_does():
    assert top1([0.4, 0.4, 0.2]) == (0,)


def test_mms_json_answers_agree_when_every_instance_has_the_same_best_class():
    incumbent = {"predictions": [[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]]}
    candidate = {"predictions": [[0.2, 0.5, 0.3], [0.5, 0.4, 0.1]]}
    assert top1_agreement(incumbent, candidate)


def test_one_instance_with_another_best_class_is_a_disagreement():
    incumbent = {"predictions": [[0.1, 0.8, 0.1], [0.6, 0.3, 0.1]]}
    candidate = {"predictions": [[0.1, 0.8, 0.1], [0.3, 0.6, 0.1]]}
    assert not top1_agreement(incumbent, candidate)


def test_ranked_label_lists_compare_by_their_first_label():
    assert top1_agreement(json.loads('["tabby", "tiger cat"]'), ["tabby", "lynx"])
    assert not top1_agreement(["tabby", "lynx"], ["lynx", "tabby"])


def test_verbose_ranked_labels_compare_by_label():
    incumbent = [{"label": "tabby", "probability": 0.7}, {"label": "lynx", "probability": 0.2}]
    candidate = [{"label": "tabby", "probability": 0.5}, {"label": "tiger", "probability": 0.4}]
    assert top1_agreement(incumbent, candidate)
    assert topk_overlap(incumbent, candidate, 2) == 0.5


def test_tf_serving_named_outputs_are_each_ranked_and_a_class_id_is_its_own_top1():
    incumbent = {"predictions": [{"probs": [0.1, 0.9], "class_id": 1}]}
    candidate = {"predictions": [{"probs": [0.2, 0.8], "class_id": 1}]}
    other = {"predictions": [{"probs": [0.2, 0.8], "class_id": 0}]}
    assert top1_agreement(incumbent, candidate)
    assert not top1_agreement(incumbent, other)


def test_tf_serving_columnar_outputs_are_unwrapped():
    assert top1_agreement({"outputs": [[0.0, 1.0]]}, {"predictions": [[0.3, 0.7]]})


def test_topk_overlap_is_the_share_of_best_classes_in_common_averaged_over_instances():
    incumbent = [[0.5, 0.3, 0.1, 0.1], [0.5, 0.3, 0.1, 0.1]]
    candidate = [[0.3, 0.5, 0.1, 0.1], [0.1, 0.1, 0.3, 0.5]]
    assert topk_overlap(incumbent, candidate, 2) == pytest.approx((1.0 + 0.0) / 2)


def test_topk_overlap_refuses_answers_with_different_instance_counts():
    with pytest.raises(NotComparable):
        topk_overlap([[0.1, 0.9]], [[0.1, 0.9], [0.9, 0.1]], 1)


def test_max_abs_diff_is_the_largest_difference_between_numbers_in_the_same_place():
    assert max_abs_diff({"predictions": [[0.1, 0.9]]}, {"predictions": [[0.25, 0.75]]}) == pytest.approx(0.15)


def test_max_abs_diff_refuses_answers_of_different_shapes():
    with pytest.raises(NotComparable):
        max_abs_diff([[0.1, 0.9]], [[0.1, 0.8, 0.1]])


@pytest.mark.parametrize("output", [3.5, "tabby", {"unexpected": [1]}, [1, "a"], [True, False]])
def test_shapes_outside_the_documented_ones_are_not_comparable(output):
    with pytest.raises(NotComparable):
        top1(output)
