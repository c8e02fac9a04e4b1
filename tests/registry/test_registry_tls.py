"""A registry that is not on loopback is spoken to over TLS, checked against the trusted CA certificates.

``registry.test`` is made to resolve to 127.0.0.1 by bind-mounting a copy of /etc/hosts with that line
over /etc/hosts, inside the test session's own mount namespace (``tests/conftest.py`` made it, with
private propagation, so the host never sees the mount). The registry's certificate is signed by a CA
made here with ``openssl``: unknown to the system's CA list, trusted through ``SSL_CERT_FILE``.
"""

import json
import os
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.privileged
HOSTNAME = "registry.test"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_files(workdir):
    """(CA certificate, server certificate, server key) for ``registry.test``."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (setup.sh installs it)")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=pydock test CA", cwd=workdir)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", f"/CN={HOSTNAME}", cwd=workdir)
    (workdir / "san.ext").write_text(f"subjectAltName=DNS:{HOSTNAME}\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "san.ext", cwd=workdir)
    return workdir / "ca.crt", workdir / "server.crt", workdir / "server.key"


@pytest.fixture
def hostname(workdir):
    """``registry.test`` resolves to 127.0.0.1 while the test runs (in this mount namespace only)."""
    if os.readlink("/proc/self/ns/mnt") == os.readlink(f"/proc/{os.getppid()}/ns/mnt"):
        pytest.skip("needs the test session's own mount namespace (run through test.sh as root)")
    hosts = workdir / "hosts"
    with open("/etc/hosts") as f:
        hosts.write_text(f.read() + f"\n127.0.0.1\t{HOSTNAME}\n")
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)
    yield HOSTNAME
    subprocess.run(["umount", "/etc/hosts"], check=True)


def test_tls_registry_verified_against_trusted_cas(pydock, new_registry, tls_files, hostname, client_config,
                                                   make_image, forget_image, unique):
    ca, certificate, key = tls_files
    server = new_registry(tls=(certificate, key))
    name = f"{hostname}:{server.port}/tls-{unique}:1"
    make_image(name, [{"tls.txt": b"over TLS\n"}])

    untrusted = pydock("push", name)
    assert untrusted.returncode == 1
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert f"https://{hostname}:{server.port}/v2/" in untrusted.stderr

    trusted = {"SSL_CERT_FILE": str(ca)}
    pydock("push", name, env=trusted, check=True)
    forget_image(name)
    pydock("pull", name, env=trusted, check=True)
    run = pydock("run", "--rm", "--network", "none", name, "cat", "/tls.txt", check=True)
    assert run.stdout == "over TLS\n"

    with open(os.path.join(client_config, "daemon.json"), "w") as f:
        json.dump({"insecure-registries": [f"{hostname}:{server.port}"]}, f)
    plain = pydock("pull", name, env=trusted)  # insecure means plain HTTP, which a TLS port refuses
    assert plain.returncode == 1 and f'"http://{hostname}:{server.port}/v2/' in plain.stderr
