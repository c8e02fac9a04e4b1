"""Image references parse and print as Docker's distribution/reference does."""
import pytest

from pydock_edu.errors import InvalidArgument
from pydock_edu.image.reference import Reference, looks_like_id, parse

DIGEST = "sha256:" + "7c" * 32


@pytest.mark.parametrize("text, domain, path, tag, digest", [
    ("busybox", "docker.io", "library/busybox", "latest", None),
    ("busybox:1.36", "docker.io", "library/busybox", "1.36", None),
    ("user/repo", "docker.io", "user/repo", "latest", None),
    ("docker.io/busybox", "docker.io", "library/busybox", "latest", None),
    ("index.docker.io/library/busybox", "docker.io", "library/busybox", "latest", None),
    ("localhost/app", "localhost", "app", "latest", None),
    ("localhost:5000/app:1.0", "localhost:5000", "app", "1.0", None),
    ("registry.example.com/team/app/api:v2_rc-1", "registry.example.com", "team/app/api", "v2_rc-1", None),
    ("my-reg:5000/a__b/c.d-e", "my-reg:5000", "a__b/c.d-e", "latest", None),
    (f"busybox@{DIGEST}", "docker.io", "library/busybox", None, DIGEST),
    (f"localhost:5000/x:1@{DIGEST}", "localhost:5000", "x", "1", DIGEST),
])
def test_parse_normalises(text, domain, path, tag, digest):
    assert parse(text) == Reference(domain, path, tag, digest)


@pytest.mark.parametrize("text, familiar, full", [
    ("busybox", "busybox:latest", "docker.io/library/busybox"),
    ("docker.io/library/busybox:1", "busybox:1", "docker.io/library/busybox"),
    ("user/repo:tag", "user/repo:tag", "docker.io/user/repo"),
    ("library/foo/bar", "library/foo/bar:latest", "docker.io/library/foo/bar"),
    ("localhost:5000/x:1", "localhost:5000/x:1", "localhost:5000/x"),
    (f"localhost:5000/x:1@{DIGEST}", f"localhost:5000/x:1@{DIGEST}", "localhost:5000/x"),
])
def test_familiar_and_full_forms(text, familiar, full):
    ref = parse(text)
    assert str(ref) == ref.familiar() == familiar
    assert ref.full_repository == full


def test_repository_is_the_familiar_name():
    assert parse("busybox").repository == "busybox"
    assert parse("user/repo").repository == "user/repo"
    assert parse("localhost:5000/x").repository == "localhost:5000/x"


def test_default_tag_only_without_tag_or_digest():
    assert parse("busybox", default_tag=None).tag is None
    assert parse(f"busybox@{DIGEST}").tag is None
    assert str(parse("busybox", default_tag=None)) == "busybox"


def test_first_component_is_a_domain_only_when_it_looks_like_one():
    assert parse("foo/bar").domain == "docker.io"
    assert parse("foo.com/bar").domain == "foo.com"
    assert parse("foo:5000/bar").domain == "foo:5000"
    assert parse("[::1]:5000/bar").domain == "[::1]:5000"


def test_uppercase_repository_is_refused_with_dockers_words():
    with pytest.raises(InvalidArgument) as err:
        parse("Busybox")
    assert str(err.value) == "invalid reference format: repository name (library/Busybox) must be lowercase"
    with pytest.raises(InvalidArgument, match=r"repository name \(App\) must be lowercase"):
        parse("localhost:5000/App:1")


@pytest.mark.parametrize("text", [
    "", "busybox:", ":latest", "busybox@sha256:abc", "-busybox", "busy--box_", "a//b",
    "busybox:" + "t" * 129, "busybox:-tag", "foo:bar/baz", "busy box", "localhost:port/x",
])
def test_invalid_reference_format(text):
    with pytest.raises(InvalidArgument) as err:
        parse(text)
    assert str(err.value) == "invalid reference format"


def test_tag_may_have_capitals_and_128_characters():
    assert parse("busybox:V1").tag == "V1"
    assert parse("busybox:" + "t" * 128).tag == "t" * 128


def test_name_longer_than_255_characters():
    with pytest.raises(InvalidArgument) as err:
        parse("a" * 240)  # docker.io/library/ makes the full name 258 characters
    assert str(err.value) == "repository name must not be more than 255 characters"


def test_a_full_image_id_is_not_a_name():
    with pytest.raises(InvalidArgument, match="cannot specify 64-byte hexadecimal strings"):
        parse("ab" * 32)


@pytest.mark.parametrize("text, expected", [
    ("3f2a", True), ("3f2a1b9c0d1e", True), ("ab" * 32, True), ("sha256:" + "ab" * 32, True),
    ("sha256:3f", True), ("busybox", False), ("", False), ("ab" * 33, False), ("3F2A", False),
])
def test_looks_like_id(text, expected):
    assert looks_like_id(text) is expected
