"""Every Dockerfile instruction: its effect in the built image's config and in a container run from it."""

import json
import os

import pytest
from build_helpers import steps

pytestmark = pytest.mark.privileged


def test_config_instructions_land_in_the_image_config(context, build, image_config, pydock):
    root = context({"Dockerfile": """\
FROM busybox
MAINTAINER Jane Doe <jane@example.com>
ENV GREETING hello world
ENV A=1 B="two words" C=${A:-unset}-x
ENV D=$A
LABEL org.example.team="build tests" version=1
EXPOSE 80 53/udp
VOLUME ["/data"]
VOLUME /cache /logs
WORKDIR /srv
WORKDIR app
USER nobody
STOPSIGNAL SIGUSR1
SHELL ["/bin/sh", "-ec"]
HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=4 CMD test -d /srv
ONBUILD RUN echo triggered
ENTRYPOINT ["/bin/echo"]
CMD ["default", "args"]
"""})
    build(root, "-t", "all-config")
    config = image_config("all-config")
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["GREETING"] == "hello world"
    # every pair of one ENV sees the values from before it, as in Docker
    assert (env["A"], env["B"], env["C"], env["D"]) == ("1", "two words", "unset-x", "1")
    assert env["PATH"].startswith("/usr/local/sbin")
    assert config["Labels"] == {"org.example.team": "build tests", "version": "1"}
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert set(config["Volumes"]) == {"/data", "/cache", "/logs"}
    assert config["WorkingDir"] == "/srv/app"
    assert config["User"] == "nobody"
    assert config["StopSignal"] == "SIGUSR1"
    assert config["Shell"] == ["/bin/sh", "-ec"]
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "test -d /srv"], "Interval": 5 * 10**9,
                                     "Timeout": 2 * 10**9, "StartPeriod": 10**9, "Retries": 4}
    assert config["OnBuild"] == ["RUN echo triggered"]
    assert (config["Entrypoint"], config["Cmd"]) == (["/bin/echo"], ["default", "args"])
    image = json.loads(pydock("image", "inspect", "all-config", check=True).stdout)[0]
    assert image["Author"] == "Jane Doe <jane@example.com>"


def test_run_shell_form_exec_form_and_shell_instruction(context, build, run):
    root = context({"Dockerfile": """\
FROM busybox
RUN echo "shell form: $HOME" > /shell.txt
RUN ["/bin/sh", "-c", "echo exec form > /exec.txt"]
RUN ["/bin/echo", "no shell, no $HOME"]
SHELL ["/bin/sh", "-xc"]
RUN echo traced > /traced.txt
"""})
    out = build(root, "-t", "run-forms").stdout
    assert "no shell, no $HOME" in out  # exec form: no shell expands the variable
    assert "+ echo traced" in out  # SHELL ["/bin/sh", "-xc"] traces the commands of later RUNs
    assert run("run-forms", "cat", "/shell.txt", "/exec.txt", "/traced.txt") == \
        "shell form: /root\nexec form\ntraced\n"


def test_run_heredoc(context, build, run):
    root = context({"Dockerfile": """\
FROM busybox
RUN <<EOF
echo first > /one
echo second >> /one
EOF
RUN cat > /two <<EOT
piped to cat
EOT
"""})
    build(root, "-t", "run-heredoc")
    assert run("run-heredoc", "cat", "/one", "/two") == "first\nsecond\npiped to cat\n"


@pytest.mark.parametrize("lines, args, expected", [
    (['CMD ["echo", "exec cmd"]'], [], "exec cmd"),
    (["CMD echo shell cmd $HOME"], [], "shell cmd /root"),
    (['ENTRYPOINT ["echo", "entry"]', 'CMD ["default"]'], [], "entry default"),
    (['ENTRYPOINT ["echo", "entry"]', 'CMD ["default"]'], ["given"], "entry given"),
    (["ENTRYPOINT echo shell entry", 'CMD ["ignored"]'], ["ignored too"], "shell entry"),
    (['CMD ["kept"]', 'ENTRYPOINT ["echo"]'], [], "kept"),
], ids=["cmd-exec", "cmd-shell", "entrypoint+cmd", "entrypoint+args", "shell-entrypoint", "cmd-then-entrypoint"])
def test_cmd_and_entrypoint_interplay(context, build, run, lines, args, expected):
    root = context({"Dockerfile": "FROM busybox\n" + "\n".join(lines) + "\n"})
    build(root, "-t", "interplay")
    assert run("interplay", *args) == expected + "\n"


def test_entrypoint_resets_the_base_image_cmd(context, build, image_config):
    root = context({"Dockerfile": 'FROM busybox\nENTRYPOINT ["/bin/echo"]\n'})
    build(root, "-t", "entry-only")
    config = image_config("entry-only")
    assert (config["Entrypoint"], config.get("Cmd")) == (["/bin/echo"], None)  # busybox's CMD ["sh"] is gone


def test_arg_before_and_after_from_build_args_and_env_precedence(context, build, run, pydock):
    root = context({"Dockerfile": """\
ARG BASE=busybox
ARG TAG
FROM ${BASE}:${TAG:-latest}
ARG TAG
ARG GREETING=hello
ARG WHO
ENV WHO=${WHO:-nobody} FROM_ENV=set
ARG FROM_ENV=from-arg
RUN echo "$GREETING $WHO tag=$TAG from_env=$FROM_ENV" > /args.txt
ENV SAVED=$GREETING
"""})
    out = build(root, "-t", "args", "--build-arg", "WHO=world", "--build-arg", "UNUSED=1").stdout
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in out
    assert run("args", "cat", "/args.txt") == "hello world tag= from_env=set\n"
    assert run("args", "sh", "-c", "echo $SAVED; echo ${GREETING:-not in the image}") == \
        "hello\nnot in the image\n"
    history = pydock("history", "--no-trunc", "--format", "{{.CreatedBy}}", "args", check=True).stdout
    assert '|1 GREETING=hello /bin/sh -c echo "$GREETING $WHO tag=$TAG from_env=$FROM_ENV" > /args.txt' in history
    out = build(root, "-t", "args2", "--build-arg", "TAG=latest", "--build-arg", "GREETING=hi").stdout
    assert run("args2", "cat", "/args.txt") == "hi nobody tag=latest from_env=set\n"


def test_build_arg_from_the_environment(context, build, run):
    root = context({"Dockerfile": "FROM busybox\nARG SECRET_LEVEL=low\nRUN echo $SECRET_LEVEL > /level\n"})
    build(root, "-t", "env-arg", "--build-arg", "SECRET_LEVEL", env={"SECRET_LEVEL": "high"})
    assert run("env-arg", "cat", "/level") == "high\n"


def test_user_applies_to_run_cmd_and_entrypoint(context, build, run):
    root = context({"Dockerfile": """\
FROM busybox
RUN id -u > /tmp/as-root
USER nobody
RUN id -u > /tmp/as-nobody
CMD ["id", "-un"]
"""})
    build(root, "-t", "user")
    assert run("user", "cat", "/tmp/as-root", "/tmp/as-nobody") == "0\n65534\n"
    assert run("user") == "nobody\n"
    assert run("user", "stat", "-c", "%U", "/tmp/as-nobody") == "nobody\n"


def test_workdir_is_created_and_relative_to_the_previous_one(context, build, run):
    root = context({"Dockerfile": """\
FROM busybox
WORKDIR /app
WORKDIR src
RUN pwd > where.txt
WORKDIR /bin
"""})
    out = build(root, "-t", "workdir").stdout
    assert run("workdir", "cat", "/app/src/where.txt") == "/app/src\n"
    assert run("workdir", "pwd") == "/bin\n"
    assert run("workdir", "stat", "-c", "%a %U", "/app", "/app/src") == "755 root\n755 root\n"
    (workdir_step,) = [lines for text, lines in steps(out) if text == "WORKDIR /app"]
    assert workdir_step[0].startswith(" ---> Running in ") and workdir_step[1].startswith("Removing intermediate")


def test_copy_rules(context, build, run):
    root = context({
        "Dockerfile": """\
FROM busybox
WORKDIR /dest
COPY one.txt .
COPY one.txt /renamed.txt
COPY one.txt /etc
COPY *.md /docs/
COPY tree /tree-contents
COPY one.txt two.txt /both/
COPY --chown=nobody:nobody one.txt /owned/by-nobody
COPY --chown=1234 one.txt /owned/by-1234
COPY --chmod=700 one.txt /owned/mode-700
ARG WHO=heredoc
COPY <<EOF /from/heredoc.txt
written by $WHO
EOF
COPY <<"EOF" /from/literal.txt
not $EXPANDED
EOF
""",
        "one.txt": "one\n", "two.txt": "two\n", "a.md": "a\n", "b.md": "b\n",
        "tree/top.txt": "top\n", "tree/sub/deep.txt": "deep\n",
    })
    (root / "tree" / "sub" / "deep.txt").chmod(0o640)
    build(root, "-t", "copy-rules")
    listing = run("copy-rules", "sh", "-c", """
cat /dest/one.txt /renamed.txt /etc/one.txt
ls /docs; ls /tree-contents; ls /both
stat -c '%a %u:%g %n' /tree-contents/sub/deep.txt /owned /owned/by-nobody /owned/by-1234 /owned/mode-700
cat /from/heredoc.txt /from/literal.txt""")
    assert listing.splitlines() == [
        "one", "one", "one",
        "a.md", "b.md", "sub", "top.txt", "one.txt", "two.txt",
        "640 0:0 /tree-contents/sub/deep.txt", "755 65534:65534 /owned", "644 65534:65534 /owned/by-nobody",
        "644 1234:1234 /owned/by-1234", "700 0:0 /owned/mode-700",
        "written by heredoc", "not $EXPANDED"]


def test_copy_errors(context, build):
    root = context({"Dockerfile": "FROM busybox\nCOPY one.txt two.txt /no-slash\n", "one.txt": "1", "two.txt": "2"})
    res = build(root, check=False)
    assert res.returncode == 1
    assert "When using COPY with more than one source file, the destination must be a directory and end with a /" \
        in res.stderr
    root = context({"Dockerfile": "FROM busybox\nCOPY nothing* /\n"}, name="glob")
    res = build(root, check=False)
    assert (res.returncode, res.stderr.strip()) == (1, "COPY failed: no source files were specified")
    root = context({"Dockerfile": "FROM busybox\nCOPY --chown=nobody:ghosts Dockerfile /\n"}, name="chown")
    res = build(root, check=False)
    assert res.stderr.strip() == ("COPY failed: unable to convert uid/gid chown string to host mapping: "
                                  "can't find gid for group ghosts: no such group: ghosts")


def test_add_unpacks_local_archives_and_copies_plain_files(context, build, run, tmp_path):
    import io
    import tarfile

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        for name, text in (("pkg/bin/tool", "#!/bin/sh\necho tool\n"), ("pkg/README", "read me\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(text), 0o755, 1000, 1000
            archive.addfile(info, io.BytesIO(text.encode()))
    root = context({"Dockerfile": "FROM busybox\nADD pkg.tar.gz /opt/\nADD plain.txt /opt/\n",
                    "pkg.tar.gz": data.getvalue(), "plain.txt": "plain\n"})
    build(root, "-t", "add-tar")
    assert run("add-tar", "sh", "-c", "/opt/pkg/bin/tool; cat /opt/plain.txt; stat -c '%u:%g' /opt/pkg/README") == \
        "tool\nplain\n1000:1000\n"


def test_add_archive_cannot_write_outside_its_destination(context, build):
    import io
    import tarfile

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        link = tarfile.TarInfo("escape")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        archive.addfile(link)
        info = tarfile.TarInfo("escape/passwd")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"owned"))
    root = context({"Dockerfile": "FROM busybox\nADD evil.tar /x/\n", "evil.tar": data.getvalue()})
    res = build(root, check=False)
    assert res.returncode == 1
    assert "ADD failed: invalid tar archive: 'escape/passwd' would be written through a link or a file" in res.stderr


def test_add_url_from_a_local_server(context, build, run, tmp_path):
    import http.server
    import threading

    served = tmp_path / "www"
    served.mkdir()
    (served / "page.html").write_text("<h1>served</h1>\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/page.html"
        import os

        os.utime(served / "page.html", (1_000_000_000, 1_000_000_000))  # 2001-09-09T01:46:40Z
        root = context({"Dockerfile": f"FROM busybox\nADD {url} /web/\n"
                                      f"ADD --chown=nobody:nobody {url} /web/mine.html\n"})
        build(root, "-t", "add-url")
    finally:
        server.shutdown()
        server.server_close()
    assert run("add-url", "sh", "-c", "cat /web/page.html; stat -c '%a %u %Y' /web/page.html /web/mine.html") == \
        "<h1>served</h1>\n600 0 1000000000\n600 65534 1000000000\n"


def test_volume_discards_what_later_steps_write_there(context, build, run):
    root = context({"Dockerfile": "FROM busybox\nVOLUME /data\nRUN echo lost > /data/file && echo kept > /kept\n"})
    build(root, "-t", "volume-step")
    assert run("volume-step", "sh", "-c", "ls -A /data; cat /kept") == "kept\n"


def test_stopsignal_is_what_stop_sends(context, build, started, pydock):
    root = context({"Dockerfile": """\
FROM busybox
STOPSIGNAL SIGUSR1
CMD ["sh", "-c", "trap 'echo got USR1; exit 7' USR1; echo ready; while true; do sleep 0.1; done"]
"""})
    build(root, "-t", "stopsignal")
    cid = started("stopsignal")
    from build_helpers import wait_for

    wait_for(lambda: "ready" in pydock("logs", cid).stdout)
    pydock("stop", "-t", "10", cid, check=True)
    assert pydock("inspect", "-f", "{{.State.ExitCode}}", cid).stdout.strip() == "7"
    assert "got USR1" in pydock("logs", cid).stdout


def test_history_has_one_row_per_instruction(context, build, pydock):
    root = context({"Dockerfile": """\
FROM busybox
MAINTAINER someone
ENV K=v
COPY five.txt /
RUN echo 12345678 > /nine.txt
CMD ["sh"]
""", "five.txt": "five\n"})
    build(root, "-t", "history")
    rows = pydock("history", "--format", "{{.CreatedBy}}|{{.Size}}", "--no-trunc", "history",
                  check=True).stdout.splitlines()
    assert len(rows) == 6  # five steps, then busybox's own row
    created_by = [row.rsplit("|", 1)[0] for row in rows[:5]]
    sizes = [row.rsplit("|", 1)[1] for row in rows[:5]]
    assert created_by[0] == '/bin/sh -c #(nop)  CMD ["sh"]'
    assert created_by[1] == "/bin/sh -c echo 12345678 > /nine.txt"
    assert created_by[2].startswith("/bin/sh -c #(nop) COPY file:") and created_by[2].endswith(" in / ")
    assert created_by[3:] == ["/bin/sh -c #(nop)  ENV K=v", "/bin/sh -c #(nop)  MAINTAINER someone"]
    assert sizes == ["0B", "9B", "5B", "0B", "0B"]


@pytest.mark.parametrize("base", ["busybox", "scratch"])
def test_a_run_layer_holds_only_what_the_command_wrote(context, build, pydock, base):
    """Not the mount points the runtime made (/etc/hosts, /proc, /dev...), even on an empty base."""
    from pydock_edu.image.store import ImageStore

    root = context({"Dockerfile": f"""\
FROM --platform=linux/amd64 {base}
COPY --from=busybox /bin/busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "echo hi > /hello"]
"""})
    build(root, "-t", f"run-layer-{base}")
    store = ImageStore()
    image_id = store.resolve(f"run-layer-{base}")
    top = store.layer_dir(store.layers(image_id)[-1])
    assert sorted(os.listdir(top)) == ["hello"]
