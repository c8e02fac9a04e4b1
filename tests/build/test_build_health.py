"""HEALTHCHECK: the runtime runs the check, and ps and inspect show starting, healthy, unhealthy."""

import json

import pytest
from build_helpers import wait_for

from pydock_edu import events

pytestmark = pytest.mark.privileged


def status(pydock, cid):
    return pydock("ps", "-a", "--filter", f"id={cid}", "--format", "{{.Status}}").stdout.strip()


def health(pydock, cid):
    return json.loads(pydock("inspect", "-f", "{{json .State.Health}}", cid, check=True).stdout)


def test_healthy_after_starting(context, build, started, pydock):
    root = context({"Dockerfile": """\
FROM busybox
HEALTHCHECK --interval=1s --timeout=3s --retries=2 CMD test -f /tmp/ready && echo fine
CMD ["sh", "-c", "sleep 2; touch /tmp/ready; sleep 60"]
"""})
    build(root, "-t", "health-ok")
    cid = started("health-ok")
    assert status(pydock, cid).endswith("(health: starting)")
    wait_for(lambda: status(pydock, cid).endswith("(healthy)"))
    state = health(pydock, cid)
    assert state["Status"] == "healthy" and state["FailingStreak"] == 0
    assert state["Log"][-1]["ExitCode"] == 0 and state["Log"][-1]["Output"] == "fine\n"
    assert len(state["Log"]) <= 5


def test_unhealthy_after_retries_failures(context, build, started, pydock):
    root = context({"Dockerfile": """\
FROM busybox
HEALTHCHECK --interval=1s --retries=2 CMD ["sh", "-c", "echo broken; exit 1"]
CMD ["sleep", "60"]
"""})
    build(root, "-t", "health-bad")
    cid = started("health-bad")
    wait_for(lambda: status(pydock, cid).endswith("(unhealthy)"))
    state = health(pydock, cid)
    assert state["Status"] == "unhealthy" and state["FailingStreak"] >= 2
    assert state["Log"][-1] == {**state["Log"][-1], "ExitCode": 1, "Output": "broken\n"}
    actions = [e["Action"] for e in events.read() if e["Actor"]["ID"] == cid]
    assert "health_status: unhealthy" in actions


def test_a_timeout_is_a_failure(context, build, started, pydock):
    root = context({"Dockerfile": "FROM busybox\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD sleep 5\n"
                                  'CMD ["sleep", "60"]\n'})
    build(root, "-t", "health-slow")
    cid = started("health-slow")
    wait_for(lambda: status(pydock, cid).endswith("(unhealthy)"))
    assert health(pydock, cid)["Log"][0]["Output"] == "Health check exceeded timeout (1s)"


def test_run_can_replace_or_disable_the_check(context, build, started, pydock):
    root = context({"Dockerfile": 'FROM busybox\nHEALTHCHECK --interval=1s CMD false\nCMD ["sleep", "60"]\n'})
    build(root, "-t", "health-override")
    cid = started("--health-cmd", "true", "--health-interval", "1s", "health-override")
    wait_for(lambda: status(pydock, cid).endswith("(healthy)"))
    quiet = started("--no-healthcheck", "health-override")
    assert "health" not in status(pydock, quiet)
    assert pydock("inspect", "-f", "{{json .State.Health}}", quiet).stdout.strip() in ("null", "<no value>")


def test_healthcheck_none_in_a_child_image(context, build, pydock, image_config):
    root = context({"Dockerfile": "FROM busybox\nHEALTHCHECK CMD true\n"}, name="base")
    build(root, "-t", "health-base")
    child = context({"Dockerfile": "FROM health-base\nHEALTHCHECK NONE\n"}, name="child")
    out = build(child, "-t", "health-none").stdout
    assert image_config("health-none")["Healthcheck"] == {"Test": ["NONE"]}
    assert "Note: overriding previous HEALTHCHECK: [CMD-SHELL true]" in out
