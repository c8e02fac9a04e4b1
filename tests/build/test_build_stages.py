"""Multi-stage builds, --target, ONBUILD, and the tutorial's own two examples."""

import shutil
import subprocess

import pytest
from build_helpers import steps, wait_for

pytestmark = pytest.mark.privileged

MULTI_STAGE = """\
FROM busybox AS build
RUN echo compiled > /artifact.txt
FROM busybox AS test
RUN echo tested > /report.txt
FROM scratch
COPY --from=build /artifact.txt /
COPY --from=1 /report.txt /
COPY --from=busybox /bin/busybox /bin/
CMD ["/bin/busybox", "cat", "/artifact.txt", "/report.txt"]
"""


def test_multi_stage_copy_from_a_stage_an_index_and_an_image(context, build, run, pydock):
    root = context({"Dockerfile": MULTI_STAGE})
    out = build(root, "-t", "multi").stdout
    assert [text for text, _ in steps(out)][4] == "FROM scratch"
    assert steps(out)[4][1] == [" ---> "]  # scratch: no image yet, as Docker prints it
    assert run("multi") == "compiled\ntested\n"
    layers = pydock("image", "inspect", "-f", "{{len .RootFS.Layers}}", "multi", check=True).stdout.strip()
    assert layers == "3"  # only the final stage's layers


def test_target_stops_at_a_stage(context, build, run):
    root = context({"Dockerfile": MULTI_STAGE})
    out = build(root, "--target", "build", "-t", "only-build").stdout
    assert "Step 2/2 : RUN echo compiled > /artifact.txt" in out
    assert run("only-build", "cat", "/artifact.txt") == "compiled\n"
    res = build(root, "--target", "nope", check=False)
    assert (res.returncode, res.stderr.strip()) == (1, "failed to reach build target nope in Dockerfile")


def test_copy_from_the_current_stage_is_refused(context, build):
    root = context({"Dockerfile": "FROM busybox AS me\nCOPY --from=me /etc/passwd /x\n"})
    res = build(root, check=False)
    assert res.returncode == 1
    assert "invalid from flag value me: refers to current build stage" in res.stderr


def test_onbuild_triggers_run_in_the_child_build(context, build, run, image_config):
    parent = context({"Dockerfile": """\
FROM busybox
ONBUILD COPY app.txt /app/
ONBUILD RUN wc -l < /app/app.txt > /app/lines
"""}, name="parent")
    build(parent, "-t", "onbuild-base")
    assert image_config("onbuild-base")["OnBuild"] == ["COPY app.txt /app/", "RUN wc -l < /app/app.txt > /app/lines"]
    child = context({"Dockerfile": "FROM onbuild-base\nCMD [\"cat\", \"/app/lines\"]\n", "app.txt": "a\nb\nc\n"},
                    name="child")
    out = build(child, "-t", "onbuild-child").stdout
    (from_step, lines), _ = steps(out)
    assert from_step == "FROM onbuild-base"
    assert lines[0] == "# Executing 2 build triggers"
    assert run("onbuild-child") == "3\n"
    assert not image_config("onbuild-child").get("OnBuild")  # triggers are not inherited


def test_static_program_from_scratch(context, build, run, tmp_path, pydock):
    """The tutorial's Go example, with C: ``FROM scratch``, ``ADD main /``, ``CMD ["/main"]``."""
    if not shutil.which("gcc"):
        pytest.skip("gcc is not installed (setup.sh installs it)")
    root = context({"Dockerfile": 'FROM scratch\nADD main /\nCMD ["/main"]\n',
                    "main.c": '#include <stdio.h>\nint main(void) { puts("hello from scratch"); return 0; }\n'})
    subprocess.run(["gcc", "-static", "-O2", "-o", str(root / "main"), str(root / "main.c")], check=True)
    build(root, "-t", "static-hello")
    assert run("static-hello") == "hello from scratch\n"
    files = pydock("image", "inspect", "-f", "{{len .RootFS.Layers}}", "static-hello", check=True).stdout
    assert files.strip() == "1"


def test_busybox_httpd_serves_a_page(context, build, started, pydock, image_config):
    """The tutorial's web image: EXPOSE, WORKDIR, ENV, COPY, CMD, then a request from inside it."""
    root = context({"Dockerfile": """\
FROM busybox
ENV PORT=8080
WORKDIR /www
COPY index.html .
EXPOSE $PORT
CMD ["sh", "-c", "exec httpd -f -v -p $PORT -h /www"]
""", "index.html": "<h1>Hello from pydock</h1>\n"})
    build(root, "-t", "web")
    assert image_config("web")["ExposedPorts"] == {"8080/tcp": {}}
    cid = started("web")

    def page():
        """the page, fetched inside the container"""
        res = pydock("exec", cid, "wget", "-qO-", "http://127.0.0.1:8080/")
        return res.stdout if res.returncode == 0 else None

    assert wait_for(page, timeout=20) == "<h1>Hello from pydock</h1>\n"
