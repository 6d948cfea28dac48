"""The gateway's pure rules (no process, no network): TargetModel keys, safe extraction, budgets."""
from __future__ import annotations

import io
import tarfile

import pytest

from client.plan.memory import budget_for, memory_cost
from local_stack.runtime.endpoints import parse_model_data_url, serving_container
from local_stack.runtime.model_cache import Budget, RuntimeApiError, extract_safely, mms_name, target_key


@pytest.mark.parametrize("target", ["digits.tar.gz", "team/resnet_18_v2.tar.gz", "a b+c=d.tar.gz"])
def test_a_relative_target_is_a_key_under_the_prefix(target):
    assert target_key("models/", target) == "models/" + target


@pytest.mark.parametrize(
    "target",
    ["", "../x.tar.gz", "a/../../x.tar.gz", "/etc/passwd", "\\x.tar.gz", "a\\..\\x", "s3://other/models/x.tar.gz",
     "./x.tar.gz", "a/./x.tar.gz", "..", "x\n.tar.gz", "x" * 1025],
)
def test_a_target_that_could_leave_the_prefix_is_a_validation_error(target):
    with pytest.raises(RuntimeApiError) as raised:
        target_key("models/", target)
    assert (raised.value.status, raised.value.code) == (400, "ValidationError")


def test_model_names_in_mms_are_opaque_and_differ_per_bucket_and_key():
    names = {mms_name("b", "models/x.tar.gz"), mms_name("c", "models/x.tar.gz"), mms_name("b", "models/y.tar.gz")}
    assert len(names) == 3
    assert all(name.isalnum() and len(name) == 33 for name in names)


def _tarball(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name: str, data: bytes = b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def test_extraction_writes_regular_files_and_directories_and_counts_their_bytes(tmp_path):
    folder = tarfile.TarInfo("./sub")
    folder.type = tarfile.DIRTYPE
    tarball = _tarball(tmp_path / "ok.tar.gz", [(folder, None), _file("./sub/a", b"abc"), _file("b", b"de")])

    written = extract_safely(tarball, tmp_path / "out")

    assert written == 5
    assert (tmp_path / "out/sub/a").read_bytes() == b"abc" and (tmp_path / "out/b").read_bytes() == b"de"


def _link(name: str, kind: bytes):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, "/etc/passwd"
    return info, None


@pytest.mark.parametrize(
    "member",
    [_file("../escape"), _file("/abs"), _file("a/../../escape"), _link("l", tarfile.SYMTYPE),
     _link("h", tarfile.LNKTYPE)],
    ids=["parent", "absolute", "nested-parent", "symlink", "hardlink"],
)
def test_extraction_refuses_anything_but_files_and_directories_inside_the_folder(tmp_path, member):
    tarball = _tarball(tmp_path / "bad.tar.gz", [_file("ok"), member])

    with pytest.raises(RuntimeApiError):
        extract_safely(tarball, tmp_path / "out")

    assert not (tmp_path / "escape").exists()


def test_extraction_refuses_a_duplicate_member(tmp_path):
    tarball = _tarball(tmp_path / "dup.tar.gz", [_file("a", b"1"), _file("./a", b"2")])

    with pytest.raises(RuntimeApiError, match="twice"):
        extract_safely(tarball, tmp_path / "out")


def test_a_budget_is_memory_with_each_model_costed_as_the_planner_costs_it():
    two = Budget(budget_for(2, 10**6))

    assert not two.exceeded(2 * memory_cost(10**6)) and two.exceeded(2 * memory_cost(10**6) + 1)
    assert two.exceeded(3 * memory_cost(0))  # three models never fit, however small
    assert not Budget(None).exceeded(10**15)


@pytest.mark.parametrize(
    "url,location",
    [("s3://b/demo-multimodel-endpoint/", ("b", "demo-multimodel-endpoint/")), ("s3://b/models", ("b", "models/")),
     ("s3://b", ("b", "")), ("s3://b/", ("b", "")),
     ("https://s3-us-west-2.amazonaws.com/b/demo/", ("b", "demo/")), ("https://s3.amazonaws.com/b/p", ("b", "p/")),
     ("https://s3.eu-west-1.amazonaws.com/b/a/c/", ("b", "a/c/")),
     ("https://b.s3.amazonaws.com/p/", ("b", "p/")), ("https://b.s3.us-east-2.amazonaws.com/p", ("b", "p/"))],
)
def test_a_model_data_url_is_an_s3_bucket_and_prefix_in_any_form_sagemaker_accepts(url, location):
    assert parse_model_data_url(url) == location


@pytest.mark.parametrize("url", ["", "http://example.com/b/p", "file:///models", "https://example.com/b/p"])
def test_a_model_data_url_that_names_no_s3_location_is_refused(url):
    assert parse_model_data_url(url) is None


MME_CONTAINER = {"Image": "img", "ModelDataUrl": "s3://b/p/", "Mode": "MultiModel"}


@pytest.mark.parametrize(
    "model",
    [{"PrimaryContainer": MME_CONTAINER}, {"Containers": [MME_CONTAINER]},
     {"PrimaryContainer": {}, "Containers": [MME_CONTAINER]}],  # moto describes an unset PrimaryContainer as {}
    ids=["PrimaryContainer", "Containers", "Containers-beside-an-empty-PrimaryContainer"],
)
def test_the_serving_container_is_found_however_create_model_named_it(model):
    assert serving_container("e", model) == MME_CONTAINER


@pytest.mark.parametrize(
    "model,reason",
    [({"PrimaryContainer": {**MME_CONTAINER, "Mode": "SingleModel"}}, "not a multi-model endpoint"),
     ({"Containers": [MME_CONTAINER, MME_CONTAINER]}, "2 containers"), ({}, "0 containers")],
)
def test_anything_but_one_multi_model_container_is_a_validation_error(model, reason):
    with pytest.raises(RuntimeApiError, match=reason) as raised:
        serving_container("e", model)
    assert raised.value.code == "ValidationError"
