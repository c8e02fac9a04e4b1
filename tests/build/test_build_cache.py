"""The build cache: a step is reused when its parent, its instruction and its files are the same."""

import os

import pytest
from build_helpers import built_id, steps

pytestmark = pytest.mark.privileged

DOCKERFILE = """\
FROM busybox
ENV GREETING=hello
COPY page.html /www/
RUN wc -c /www/page.html > /www/size.txt
CMD ["cat", "/www/size.txt"]
"""


def cached(output):
    """Which steps (after FROM) came from the cache, in order."""
    return [" ---> Using cache" in lines for _, lines in steps(output)[1:]]


@pytest.fixture
def site(context):
    return context({"Dockerfile": DOCKERFILE, "page.html": "<h1>hi</h1>\n"})


def test_a_second_build_uses_the_cache_for_every_step(site, build, run):
    first = build(site, "-t", "cached", "--no-cache").stdout  # other tests may have built the same steps
    assert cached(first) == [False, False, False, False]
    second = build(site, "-t", "cached").stdout
    assert cached(second) == [True, True, True, True]
    assert built_id(first) == built_id(second)
    assert "Running in" not in second
    assert run("cached") == "12 /www/page.html\n"


def test_only_the_mtime_changed_keeps_the_cache(site, build):
    first = build(site).stdout
    page = site / "page.html"
    os.utime(page, (1, 1))
    again = build(site).stdout
    assert cached(again) == [True, True, True, True]
    assert built_id(first) == built_id(again)


def test_changed_content_misses_from_the_copy_on(site, build, run):
    build(site, "-t", "changing")
    (site / "page.html").write_text("<h1>hello</h1>\n")
    out = build(site, "-t", "changing").stdout
    assert cached(out) == [True, False, False, False]  # ENV still cached, COPY and what follows are not
    assert run("changing") == "15 /www/page.html\n"


def test_changed_mode_misses(site, build):
    build(site)
    (site / "page.html").chmod(0o600)
    assert cached(build(site).stdout) == [True, False, False, False]


def test_a_changed_instruction_misses_from_there(site, build):
    build(site)
    (site / "Dockerfile").write_text(DOCKERFILE.replace('CMD ["cat", "/www/size.txt"]', 'CMD ["sh"]'))
    assert cached(build(site).stdout) == [True, True, True, False]


def test_a_changed_build_arg_misses_the_run_that_sees_it(context, build):
    root = context({"Dockerfile": "FROM busybox\nARG LEVEL=1\nRUN echo $LEVEL > /level\nENV DONE=yes\n"})
    build(root)
    assert cached(build(root).stdout) == [True, True, True]
    assert cached(build(root, "--build-arg", "LEVEL=2").stdout) == [True, False, False]


def test_no_cache_rebuilds_every_step(site, build):
    first = build(site).stdout
    out = build(site, "--no-cache").stdout
    assert cached(out) == [False, False, False, False]
    assert built_id(out) != built_id(first)
    assert cached(build(site).stdout) == [True, True, True, True]  # the new images are a cache too


def test_intermediate_images_are_kept_and_shown_by_images_all(site, build, pydock):
    out = build(site, "-t", "kept-steps").stdout
    step_ids = [line.split()[-1] for line in out.splitlines() if line.startswith(" ---> ") and
                not line.startswith(" ---> Running") and not line.startswith(" ---> Using")]
    listed = pydock("images", "-a", "-q", check=True).stdout.split()
    assert all(step_id in listed for step_id in step_ids)
    assert step_ids[-2] not in pydock("images", "-q", check=True).stdout.split()  # hidden without -a
    parent = pydock("image", "inspect", "-f", "{{.Parent}}", "kept-steps", check=True).stdout.strip()
    assert parent[7:19] == step_ids[-2]
