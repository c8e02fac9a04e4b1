"""login/logout and the two ways a registry asks for credentials: HTTP basic (htpasswd) and bearer tokens."""

import base64
import json
import os
import stat

import pytest

USER, PASSWORD = "student", "s3cret-pass"  # what the registries of conftest.py accept


def read_config(directory):
    path = os.path.join(directory, "config.json")
    with open(path) as f:
        return json.load(f), stat.S_IMODE(os.stat(path).st_mode)


def test_login_and_logout_keep_credentials_private(pydock, basic_registry, client_config):
    host = basic_registry.host
    login = pydock("login", "-u", USER, "--password-stdin", host, input=PASSWORD + "\n", check=True)
    assert login.stdout == "Login Succeeded\n"
    config, mode = read_config(client_config)
    assert mode == 0o600
    assert config == {"auths": {host: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}}}

    again = pydock("login", host, check=True)  # the stored credentials are tried first
    assert again.stdout == f"Authenticating with existing credentials... [Username: {USER}]\nLogin Succeeded\n"

    logout = pydock("logout", host, check=True)
    assert logout.stdout == f"Removing login credentials for {host}\n"
    config, mode = read_config(client_config)
    assert config == {"auths": {}} and mode == 0o600
    assert pydock("logout", host, check=True).stdout == f"Not logged in to {host}\n"


def test_login_refuses_a_wrong_password_and_stores_nothing(pydock, basic_registry, client_config):
    login = pydock("login", "-u", USER, "-p", "wrong", basic_registry.host)
    assert login.returncode == 1
    assert login.stderr == ("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n"
                            f"Error: login attempt to http://{basic_registry.host}/v2/ failed with status: "
                            "401 Unauthorized\n")
    assert not os.path.exists(os.path.join(client_config, "config.json"))


def test_login_flag_errors(pydock, client_config, closed_port):
    server = f"127.0.0.1:{closed_port}"
    no_user = pydock("login", "--password-stdin", server, input="x\n")
    assert (no_user.returncode, no_user.stderr) == (1, "Error: Must provide --username with --password-stdin\n")
    both = pydock("login", "-u", "a", "-p", "b", "--password-stdin", server, input="x\n")
    assert both.stderr == "Error: --password and --password-stdin are mutually exclusive\n"
    no_tty = pydock("login", server, input="")
    assert no_tty.returncode == 1
    assert no_tty.stderr == "Error: Cannot perform an interactive login from a non TTY device\n"


def test_credentials_default_to_the_home_directory(pydock, basic_registry, monkeypatch, workdir):
    monkeypatch.delenv("PYDOCK_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(workdir))
    pydock("login", "-u", USER, "--password-stdin", basic_registry.host, input=PASSWORD, check=True)
    config, mode = read_config(workdir / ".pydock")
    assert basic_registry.host in config["auths"] and mode == 0o600
    assert stat.S_IMODE(os.stat(workdir / ".pydock").st_mode) == 0o700


@pytest.mark.privileged
def test_basic_auth_push_and_pull(pydock, basic_registry, client_config, make_image, forget_image, unique):
    name = f"{basic_registry.host}/basic-{unique}:1"
    make_image(name, [{"secret.txt": b"behind htpasswd\n"}])
    anonymous = pydock("push", name)
    assert anonymous.returncode == 1
    assert "no basic auth credentials" in anonymous.stderr

    pydock("login", "-u", USER, "--password-stdin", basic_registry.host, input=PASSWORD, check=True)
    pydock("push", name, check=True)
    forget_image(name)
    pydock("pull", name, check=True)
    run = pydock("run", "--rm", "--network", "none", name, "cat", "/secret.txt", check=True)
    assert run.stdout == "behind htpasswd\n"


@pytest.mark.privileged
def test_bearer_token_flow(pydock, token_registry, client_config, make_image, forget_image, unique):
    server, tokens = token_registry
    repo = f"token-{unique}"
    name = f"{server.host}/{repo}:1"
    make_image(name, [{"token.txt": b"behind a token server\n"}])

    anonymous = pydock("push", name)
    assert anonymous.returncode == 1
    assert "unauthorized" in anonymous.stderr

    wrong = pydock("login", "-u", USER, "-p", "wrong", server.host)
    assert wrong.returncode == 1 and "incorrect username or password" in wrong.stderr
    pydock("login", "-u", USER, "--password-stdin", server.host, input=PASSWORD, check=True)
    assert tokens.issued[-1] == (USER, [])  # login asks for a token with no scope, to check the password

    pydock("push", name, check=True)
    assert (USER, [f"repository:{repo}:pull,push"]) in tokens.issued
    forget_image(name)
    pydock("pull", name, check=True)
    assert (USER, [f"repository:{repo}:pull"]) in tokens.issued
    run = pydock("run", "--rm", "--network", "none", name, "cat", "/token.txt", check=True)
    assert run.stdout == "behind a token server\n"

    found = pydock("search", "--format", "{{.Name}}", f"{server.host}/{repo}", check=True)
    assert found.stdout == f"{server.host}/{repo}\n"
    assert (USER, ["registry:catalog:*"]) in tokens.issued

    pydock("logout", server.host, check=True)
    forget_image(name)
    denied = pydock("pull", name)
    assert denied.returncode == 1
    assert f"pull access denied for {server.host}/{repo}" in denied.stderr
