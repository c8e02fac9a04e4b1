"""The %docker magics in a real kernel: streaming, values for Python, errors, interrupts, variables."""

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.privileged


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "pydock_edu.cli.main", *args], capture_output=True, text=True)


def test_output_streams_in_order_as_it_comes(kernel):
    cell = kernel.run("%docker run --rm --network none busybox sh -c "
                      "'echo one; sleep 0.4; echo two >&2; sleep 0.4; echo three'")
    assert cell.status == "ok", cell.error()
    assert cell.streams() == [("stdout", "one\n"), ("stderr", "two\n"), ("stdout", "three\n")]
    times = [t for t, kind, _ in cell.outputs if kind == "stream"]
    assert times[1] - times[0] > 0.3 and times[2] - times[1] > 0.3  # each line arrived when it was written


def test_logs_follow_streams_until_the_container_ends(kernel):
    cid = kernel.value("cid = %docker run -d --network none busybox sh -c 'for i in 1 2 3; do echo line $i; "
                       "sleep 0.3; done'\ncid")
    cell = kernel.run("%docker logs -f $cid")
    assert cell.status == "ok", cell.error()
    assert cell.text() == "line 1\nline 2\nline 3\n"
    assert re.fullmatch(r"[0-9a-f]{64}", cid)  # shown as the CLI prints it, without quotes


def test_run_detached_returns_the_id(kernel):
    assert kernel.value("cid = %docker run -d --network none --name detached busybox sleep 60\n"
                        "same = %docker inspect -f '{{.Id}}' detached\n"
                        "type(cid).__mro__[1].__name__, len(cid), cid == same") == "('str', 64, True)"
    cell = kernel.run("%docker rm -f $cid")
    assert cell.status == "ok" and cell.text().strip() == kernel.value("cid")


def test_ps_and_images_are_tables_with_the_cli_text(kernel):
    kernel.run("%docker run -d --network none --name listed busybox sleep 60")
    template = "table {{.Names}}\\t{{.Image}}\\t{{.Command}}"
    cell = kernel.run(f"%docker ps --format '{template}'")
    bundle = cell.data()[-1]
    assert bundle["text/plain"] == _cli("ps", "--format", template.replace("\\t", "\t")).stdout
    assert bundle["text/plain"].splitlines()[1].split()[0] == "listed"
    assert "<th>NAMES</th>" in bundle["text/html"] and "<td>listed</td>" in bundle["text/html"]
    assert kernel.value("table = %docker ps\n[row['NAMES'] for row in table]") == "['listed']"
    images = kernel.run("%docker images").data()[-1]
    cli = _cli("images").stdout
    assert images["text/plain"].splitlines()[0] == cli.splitlines()[0]
    assert "<td>busybox</td><td>latest</td>" in images["text/html"]


def test_inspect_returns_parsed_json(kernel):
    kernel.run("%docker create --network none --name inspected busybox true")
    assert kernel.value("found = %docker inspect inspected\n"
                        "type(found).__name__, type(found[0]).__name__, found[0]['Name'], "
                        "found[0]['State']['Status']") == "('list', 'dict', '/inspected', 'created')"


def test_a_failed_command_shows_its_message_not_a_traceback(kernel):
    cell = kernel.run("%docker rm no-such-container")
    assert cell.status == "error"
    assert cell.error()["ename"] == "CommandFailed"
    assert cell.error()["traceback"] == ["Error: No such container: no-such-container"]
    assert cell.streams("stderr") == []  # shown once, as the error
    assert kernel.value("_exit_code") == "1"


def test_a_container_exit_code_raises_too(kernel):
    cell = kernel.run("%docker run --rm --network none busybox sh -c 'echo before; exit 3'\nprint('not reached')")
    assert cell.status == "error"
    assert cell.error()["traceback"] == ["exit status 3"]
    assert cell.text() == "before\n"
    assert kernel.value("_exit_code") == "3"


def test_no_raise_only_sets_the_exit_code(kernel):
    cell = kernel.run("%docker --no-raise rm no-such-container\nprint('goes on', _exit_code)")
    assert cell.status == "ok", cell.error()
    assert cell.streams() == [("stderr", "Error: No such container: no-such-container\n"), ("stdout", "goes on 1\n")]
    cell = kernel.run("%config DockerMagics.raise_on_error = False\n"
                      "%docker run --rm --network none busybox false\n"
                      "print(_exit_code)\n"
                      "%config DockerMagics.raise_on_error = True")
    assert cell.status == "ok", cell.error()
    assert cell.text() == "1\n"


def test_interrupt_stops_the_container_and_leaves_nothing(kernel, pydock):
    cell = kernel.run("%docker run --rm busybox sleep 30", interrupt_after=1.5)
    assert cell.status == "error"
    assert cell.error()["ename"] == "CommandInterrupted"
    assert re.fullmatch(r"Interrupted: stopped [0-9a-f]{12}", cell.error()["traceback"][0])
    assert cell.outputs[-1][0] < 10  # SIGINT, then SIGKILL after two seconds: not the 30 of sleep
    assert pydock("ps", "-aq").stdout == ""
    assert kernel.value("_exit_code") == "130"


def test_interrupting_logs_follow_leaves_the_container_running(kernel, pydock):
    kernel.run("%docker run -d --network none --name talker busybox sh -c 'while true; do echo tick; sleep 0.2; done'")
    cell = kernel.run("%docker logs -f talker", interrupt_after=1.5)
    assert cell.error()["traceback"] == ["Interrupted"]  # logs started nothing, so it stops nothing
    assert cell.text().startswith("tick\ntick\n")
    assert pydock("inspect", "-f", "{{.State.Status}}", "talker").stdout == "running\n"


def test_python_values_interpolate_and_go_templates_stay(kernel):
    cell = kernel.run("word = 'hello'\n"
                      "%docker run --rm --network none --name interp busybox echo $word {6 * 7} '{{.Id}}'")
    assert cell.status == "ok", cell.error()
    assert cell.text() == "hello 42 {{.Id}}\n"
    cell = kernel.run("def greet(word):\n"
                      "    cid = %docker run -d --network none busybox echo $word\n"
                      "    return cid\n"
                      "cid = greet('from-a-function')\n"
                      "%docker wait $cid\n"
                      "%docker logs $cid")
    assert cell.status == "ok", cell.error()
    assert cell.text() == "0\nfrom-a-function\n"


def test_shell_variables_expand_as_in_a_terminal(kernel):
    cell = kernel.run("import os\n"
                      "os.environ['LAB_PLACE'] = 'from-the-environment'\n"
                      "place = 'from-python'\n"
                      "%docker run --rm --network none busybox echo $LAB_PLACE $place '$LAB_PLACE' $PWD\n"
                      "print(os.getcwd())")
    assert cell.status == "ok", cell.error()
    echoed, cwd = cell.text().splitlines()
    assert echoed == f"from-the-environment from-python $LAB_PLACE {cwd}"


def test_show_displays_the_value_in_place(kernel):
    cell = kernel.run("%docker --show ps -a --format 'table {{.Names}}' --filter name=^nothing$\nNone")
    assert [bundle["text/plain"] for bundle in cell.data()] == ["NAMES\n"]


def test_explain_steps_stream_to_stderr(kernel):
    cell = kernel.run("%docker --explain run --rm --network none busybox true")
    assert cell.status == "ok", cell.error()
    steps = cell.text("stderr")
    assert "[explain]" in steps and "mount" in steps


def test_picture_magics_show_svg_text_and_a_live_widget(kernel):
    kernel.run("%docker run -d --network none --name pictured busybox sleep 60")
    for magic in ("%docker_network", "%docker_layers pictured", "%docker_mounts pictured",
                  "%docker_states pictured"):
        cell = kernel.run(magic)
        assert cell.status == "ok", (magic, cell.error())
        bundle = cell.data()[-1]
        assert bundle["image/svg+xml"].startswith("<svg"), magic
        assert "application/vnd.jupyter.widget-view+json" in bundle, magic
        assert "pictured" in bundle["text/plain"] or "host network namespace" in bundle["text/plain"], magic
    cell = kernel.run("%docker_states no-such-container")
    assert cell.status == "error" and cell.error()["traceback"] == ["Error: No such container: no-such-container"]


def test_dockerfile_cell_builds_streams_and_grows_the_layer_view(kernel, tmp_path, pydock):
    (tmp_path / "hello.txt").write_text("hello from the context\n")
    cell = kernel.run(f"%%dockerfile -t cellbuilt:1 --context {tmp_path} --network none\n"
                      "FROM busybox\n"
                      "COPY hello.txt /app/hello.txt\n"
                      "RUN echo built > /app/built.txt && echo running\n"
                      'CMD ["cat", "/app/hello.txt"]\n')
    assert cell.status == "ok", cell.error()
    lines = cell.text().splitlines()
    steps = [line for line in lines if line.startswith("Step ")]
    assert steps == ["Step 1/4 : FROM busybox", "Step 2/4 : COPY hello.txt /app/hello.txt",
                     "Step 3/4 : RUN echo built > /app/built.txt && echo running",
                     'Step 4/4 : CMD ["cat", "/app/hello.txt"]']
    assert "running" in lines and lines[-1] == "Successfully tagged cellbuilt:1"
    assert cell.result() == pydock("inspect", "-f", "{{.Id}}", "cellbuilt:1").stdout.strip()
    view = next(bundle for bundle in cell.data() if bundle["text/plain"].startswith("image busybox:latest"))
    pictures = cell.widget_values(view["application/vnd.jupyter.widget-view+json"]["model_id"])
    grown = [max(n for n in (1, 2, 3) if f"layer {n}:" in svg) for svg in pictures]
    assert grown[0] == 1 and 3 in grown and grown == sorted(grown)  # one more layer at COPY, then at RUN
    final = [c for _, kind, c in cell.outputs if kind == "update_display_data"][-1]["data"]["text/plain"]
    assert [line.split()[0] for line in final.splitlines()[1:]] == ["1", "2", "3", "-"]
    assert pydock("run", "--rm", "--network", "none", "cellbuilt:1").stdout == "hello from the context\n"
    pydock("rmi", "cellbuilt:1")


def test_dockerfile_cell_failure_shows_the_builders_message(kernel):
    cell = kernel.run("%%dockerfile --network none\nFROM busybox\nRUN false\n")
    assert cell.status == "error"
    assert cell.error()["traceback"] == ["The command '/bin/sh -c false' returned a non-zero code: 1"]
    cell = kernel.run("%%dockerfile --file Dockerfile\nFROM busybox\n")
    assert cell.error()["traceback"] == ["Error: unknown flag: --file. See 'pydock %%dockerfile --help'."]


def test_long_work_shows_a_progress_bar_with_a_plain_summary(kernel, tmp_path):
    archive = tmp_path / "busybox.tar"
    for command, summary in ((f"%docker save -o {archive} busybox", "save: done"),
                             (f"%docker load -i {archive}", "load: done")):
        cell = kernel.run(command)
        assert cell.status == "ok", cell.error()
        bar = cell.data(("display_data",))[0]
        assert "application/vnd.jupyter.widget-view+json" in bar
        final = [c["data"] for _, kind, c in cell.outputs if kind == "update_display_data"][-1]
        assert final["text/plain"] == summary
    assert cell.text() == "Loaded image: busybox:latest\n"
    cell = kernel.run("%docker save -o /nonexistent-directory/x.tar busybox")
    assert cell.status == "error"
    assert [c["data"] for _, kind, c in cell.outputs if kind == "update_display_data"][-1]["text/plain"] == "save: failed"


def test_push_and_pull_show_their_layers_on_a_bar(kernel, registry, pydock, tmp_path):
    name = f"{registry}/lab/layered:1"
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN echo mine > /mine\n")
    pydock("build", "-q", "--network", "none", "-t", name, str(tmp_path), check=True)
    for command, summary in (("push", "push: 2/2 layers done"), ("pull", "pull: 2/2 layers done")):
        if command == "pull":
            pydock("rmi", name, check=True)  # its own layer goes; busybox's stays
        cell = kernel.run(f"%docker {command} {name}")
        assert cell.status == "ok", cell.error()
        final = [c["data"] for _, kind, c in cell.outputs if kind == "update_display_data"][-1]
        assert final["text/plain"] == summary, cell.text()
    assert any(line.endswith(": Pull complete") for line in cell.text().splitlines())
    pydock("rmi", name)


def test_build_quiet_returns_the_image_id(kernel, tmp_path, pydock):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nENV QUIET=1\n")
    image = kernel.value(f"image = %docker build -q --network none -t quietly {tmp_path}\nimage")
    assert image == pydock("inspect", "-f", "{{.Id}}", "quietly").stdout.strip()
    pydock("rmi", "quietly")
