"""Exit codes as Docker 20.10's client gives them, so scripts and graders that check ``$?`` agree.

The rule, from docker/cli:
- ``run`` and ``create`` turn any failure to make or start the container into 125, or 126/127 when its
  command cannot be invoked / is not found (``runStartContainerErr``, cli/command/container/run.go);
- every other command exits 1 when its request fails: its error is a plain error, which
  cmd/docker/docker.go prints and exits 1 for; so is a wrong number of arguments (cli/required.go);
- a flag that cannot be parsed is 125 on every command (``FlagErrorFunc``, cli/cobra.go).
"""

import pytest
from foundation_helpers import assert_one_line_error, inspect

pytestmark = pytest.mark.privileged


@pytest.fixture
def running(detached):
    """A running container named ``busy``."""
    return detached("--name", "busy", "busybox", "sleep", "300")


@pytest.fixture
def dockerfiles(tmp_path):
    """A build context whose Dockerfile has an unknown instruction."""
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUNN echo hi\n")
    return tmp_path


def _failed_request(res):
    assert_one_line_error(res, 1)


def test_a_container_in_the_wrong_state_is_a_failed_request(pydock, running, create):
    create("--name", "idle", "busybox", "true")
    _failed_request(pydock("rm", "busy"))  # running: Docker asks to stop it or use -f
    _failed_request(pydock("pause", "idle"))
    _failed_request(pydock("unpause", "busy"))
    _failed_request(pydock("top", "idle"))
    _failed_request(pydock("attach", "idle"))
    _failed_request(pydock("rename", "no-such-container", "other"))
    _failed_request(pydock("kill", "-s", "FOO", "busy"))  # the daemon refuses the signal name: 1, not 125
    assert inspect(pydock, "busy", "{{.State.Status}}") == "running"


def test_bad_references_and_filters_are_failed_requests(pydock, running, busybox_image):
    _failed_request(pydock("tag", "busybox", "BAD TAG"))
    _failed_request(pydock("pull", "BAD TAG"))
    _failed_request(pydock("commit", "busy", "BAD TAG"))
    _failed_request(pydock("ps", "--filter", "nosuchkey=1"))


def test_a_failed_build_is_a_failed_request(pydock, dockerfiles, busybox_image):
    res = pydock("build", str(dockerfiles))
    _failed_request(res)
    assert "unknown instruction: RUNN" in res.stderr
    _failed_request(pydock("build", "-f", str(dockerfiles / "missing.Dockerfile"), str(dockerfiles)))


def test_network_requests_that_fail_exit_1(pydock, busybox_image):
    assert pydock("network", "create", "exitnet").returncode == 0
    try:
        _failed_request(pydock("network", "create", "exitnet"))
        _failed_request(pydock("network", "rm", "no-such-network"))
        user = pydock("run", "-d", "--network", "exitnet", "busybox", "sleep", "300")
        assert user.returncode == 0, user.stderr
        res = pydock("network", "rm", "exitnet")  # in use by a running container
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
        assert pydock("rm", "-f", user.stdout.strip()).returncode == 0
    finally:
        pydock("network", "rm", "exitnet")


def test_run_and_create_turn_engine_errors_into_125(pydock, run, running):
    res = pydock("create", "--network", "none", "--name", "busy", "busybox", "true")
    assert_one_line_error(res, 125)
    assert 'The container name "/busy" is already in use' in res.stderr
    assert_one_line_error(run("--rm", "--network", "container:no-such-container", "busybox", "true"), 125)


def test_usage_errors(pydock, running):
    res = pydock("exec", "busy")  # no command: too few arguments, 1 as any cli.RequiresMinArgs error
    assert_one_line_error(res, 1)
    assert "requires at least 2 arguments" in res.stderr
    assert_one_line_error(pydock("run"), 1)
    assert_one_line_error(pydock("ps", "--bogus"), 125)  # cli/cobra.go FlagErrorFunc: 125 on any command
    assert_one_line_error(pydock("stop", "-t", "soon", "busy"), 125)


def test_rm_force_of_a_missing_container_succeeds(pydock, create):
    # docker/cli rm.go: with --force a "No such container" error is printed on stderr and is no failure,
    # so cleanup lines work under `set -e` without `|| true`.
    res = pydock("rm", "-f", "no-such-container")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "Error: No such container: no-such-container\n")
    create("--name", "doomed", "busybox", "true")
    res = pydock("rm", "-f", "no-such-container", "doomed")
    assert (res.returncode, res.stdout) == (0, "doomed\n")
    assert pydock("ps", "-aq").stdout == ""
    assert pydock("rm", "no-such-container").returncode == 1  # without -f it is still an error


def test_start_of_a_container_whose_command_is_missing(pydock, create):
    # docker/cli start.go (startContainersWithoutAttachments): the daemon's message, then the names.
    create("--name", "broken", "busybox", "/no/such/command")
    res = pydock("start", "broken")
    assert res.returncode == 1 and res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 2 and "/no/such/command" in lines[0] and "no such file or directory" in lines[0]
    assert lines[1] == "Error: failed to start containers: broken"
    assert inspect(pydock, "broken", "{{.State.Status}} {{.State.ExitCode}}") == "created 127"
    assert "/no/such/command" in inspect(pydock, "broken", "{{.State.Error}}")


@pytest.mark.parametrize("command, reason", [
    ("/no/such/cmd", "no such file or directory"),
    ("no-such-command", "executable file not found"),
    ("/etc", "permission denied"),
])
def test_exec_of_a_command_that_cannot_run_is_126_on_stdout(pydock, running, command, reason):
    # moby: an exec that fails to start gets exit code 126 (daemon/exec.go), and its reason is written
    # into the exec's output stream (api/server/router/container/exec.go), which the client prints on stdout.
    res = pydock("exec", "busy", command)
    assert res.returncode == 126, res
    assert res.stderr == "" and "OCI runtime exec failed" in res.stdout and reason in res.stdout
    assert inspect(pydock, "busy", "{{.State.Status}}") == "running"
