"""What a build prints and returns: the legacy builder's lines, errors, exit codes, options, events."""

import pathlib
import re

import pytest
from build_helpers import built_id

from pydock_edu import events

pytestmark = pytest.mark.privileged

CORPUS = pathlib.Path(__file__).parent.parent / "unit" / "dockerfile_errors"


def masked(output):
    """The output with IDs replaced by <id>, so it can be compared line by line."""
    return re.sub(r"\b[0-9a-f]{12}\b", "<id>", output)


def test_the_legacy_builder_output(context, build):
    root = context({"Dockerfile": """\
FROM busybox
ENV WHO=world
COPY hello.txt /
RUN cat /hello.txt; echo "to stderr, $WHO" >&2
CMD ["sh"]
""", "hello.txt": "hello\n"})
    out = build(root, "--no-cache", "-t", "transcript", "-t", "transcript:v1").stdout
    assert masked(out) == """\
Step 1/5 : FROM busybox
 ---> <id>
Step 2/5 : ENV WHO=world
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Step 3/5 : COPY hello.txt /
 ---> <id>
Step 4/5 : RUN cat /hello.txt; echo "to stderr, $WHO" >&2
 ---> Running in <id>
hello
to stderr, world
Removing intermediate container <id>
 ---> <id>
Step 5/5 : CMD ["sh"]
 ---> Running in <id>
Removing intermediate container <id>
 ---> <id>
Successfully built <id>
Successfully tagged transcript:latest
Successfully tagged transcript:v1
"""


def test_quiet_prints_only_the_image_id(context, build, pydock):
    root = context({"Dockerfile": "FROM busybox\nRUN echo noisy\n"})
    out = build(root, "-q", "-t", "quiet").stdout
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", out)
    assert pydock("image", "inspect", "-f", "{{.Id}}", "quiet", check=True).stdout == out


def test_builder_build_and_image_build_are_build(context, pydock, busybox_image):
    root = context({"Dockerfile": "FROM busybox\nLABEL via=alias\n"})
    for words in (["builder", "build"], ["image", "build"]):
        res = pydock(*words, "--network", "none", "-t", "alias", str(root))
        assert res.returncode == 0, res.stderr
        assert res.stdout.endswith("Successfully tagged alias:latest\n")


def test_labels_from_the_command_line_are_extra_steps(context, build, image_config):
    root = context({"Dockerfile": "FROM busybox\n"})
    out = build(root, "--label", "b=two words", "--label", "a=$NOT_EXPANDED", "-t", "labelled").stdout
    assert "Step 2/3 : LABEL a=$NOT_EXPANDED\n" in out and "Step 3/3 : LABEL b=two words\n" in out
    assert image_config("labelled")["Labels"] == {"a": "$NOT_EXPANDED", "b": "two words"}


def test_a_failing_run_stops_the_build_with_its_exit_code(context, build, pydock):
    root = context({"Dockerfile": "FROM busybox\nRUN echo before; exit 3\nRUN echo never\n"})
    res = build(root, check=False)
    assert res.returncode == 3
    assert res.stderr == "The command '/bin/sh -c echo before; exit 3' returned a non-zero code: 3\n"
    assert "before\n" in res.stdout and "never" not in res.stdout
    failed = re.search(r"Running in ([0-9a-f]{12})", res.stdout)[1]
    assert pydock("ps", "-a", "-q", "--filter", f"id={failed}").stdout.strip() == failed  # kept, as with --rm
    pydock("rm", failed, check=True)
    res = build(root, "--force-rm", check=False)
    failed = re.search(r"Running in ([0-9a-f]{12})", res.stdout)[1]
    assert pydock("ps", "-a", "-q", "--filter", f"id={failed}").stdout.strip() == ""


def test_rm_false_keeps_the_intermediate_containers(context, build, pydock):
    root = context({"Dockerfile": "FROM busybox\nRUN echo kept > /kept\n"})
    out = build(root, "--no-cache", "--rm=false").stdout
    assert "Removing intermediate container" not in out
    kept = re.search(r"Running in ([0-9a-f]{12})", out)[1]
    assert pydock("ps", "-a", "-q", "--filter", f"id={kept}").stdout.strip() == kept
    pydock("rm", kept, check=True)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.Dockerfile")), ids=lambda p: p.stem)
def test_parse_errors_name_the_line_and_exit_1(pydock, path):
    text = path.read_text()
    expected = re.match(r"# error: (Dockerfile:\d+: .*)", text)[1]
    res = pydock("build", "-", input=text)
    assert res.returncode == 1 and res.stderr.startswith(f"Error: {expected}")


def test_errors_found_while_building_name_the_line_too(context, build):
    root = context({"Dockerfile": "FROM busybox\nENV B=${MISSING:?unset}\n"}, name="env")
    res = build(root, check=False)
    assert (res.returncode, res.stderr) == (1, "Error: Dockerfile:2: MISSING: unset\n")
    root = context({"Dockerfile": "FROM busybox\n\nSTOPSIGNAL SIGNOPE\n"}, name="signal")
    res = build(root, check=False)
    assert (res.returncode, res.stderr) == (1, "Error: Dockerfile:3: Invalid signal: SIGNOPE\n")


def test_bad_tags_and_buildkit_only_flags(context, build):
    root = context({"Dockerfile": "FROM busybox\nRUN --mount=type=cache,target=/x true\n"})
    res = build(root, "-t", "Bad:Tag", check=False)  # docker/cli checks -t as the flag is read: 125
    assert res.returncode == 125 and 'invalid argument "Bad:Tag" for "-t, --tag" flag: invalid reference format' \
        in res.stderr
    res = build(root, check=False)
    assert res.returncode == 1 and "the --mount option requires BuildKit" in res.stderr


def test_engine_api_streams_output_and_emits_events(context, busybox_image):
    from pydock_edu.engine import Engine

    root = context({"Dockerfile": "FROM busybox\nCOPY data.txt /\nRUN echo streamed | tee /streamed\n",
                    "data.txt": "data\n"})
    chunks = []
    start = len(list(events.read()))
    image_id = Engine().build(str(root), output=chunks.append, network="none", no_cache=True, tags=["api-built"])
    text = "".join(chunks)
    assert "streamed\n" in text and text.endswith("Successfully tagged api-built:latest\n")
    assert built_id(text) == image_id[7:19]
    new = list(events.read())[start:]
    steps = [e for e in new if (e["Type"], e["Action"]) == ("image", "step")]
    assert [e["Actor"]["Attributes"]["step"] for e in steps] == ["2/3", "3/3"]
    layers = [e for e in new if (e["Type"], e["Action"]) == ("image", "layer")]
    assert len(layers) == 2 and layers[-1]["Actor"]["Attributes"]["image"] == image_id
    assert steps[-1]["Actor"]["ID"] == image_id
