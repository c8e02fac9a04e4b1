"""The pydock kernel: its kernelspec, and tutorial command lines pasted verbatim into Python cells."""

import filecmp
import json
import struct
import subprocess
import sys

import pytest
from IPython.core.inputtransformer2 import TransformerManager
from jupyter_client.kernelspec import KernelSpecManager

from pydock_edu.kernel import spec
from pydock_edu.kernel.transform import CommandLine

REPO = __file__.rsplit("/tests/", 1)[0]


def _png_size(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_install_into_a_prefix(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pydock_edu.kernel", "install", "--prefix", str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout
    directory = tmp_path / "share" / "jupyter" / "kernels" / "pydock"
    assert str(directory) in out
    found = KernelSpecManager(kernel_dirs=[str(directory.parent)]).get_kernel_spec("pydock")
    assert found.display_name == "pydock (Python 3)"
    assert found.language == "python"
    assert found.argv == [sys.executable, "-m", "pydock_edu.kernel", "-f", "{connection_file}"]
    assert _png_size(directory / "logo-32x32.png") == (32, 32)
    assert _png_size(directory / "logo-64x64.png") == (64, 64)
    assert directory.stat().st_mode & 0o777 == 0o755


def test_install_refuses_two_places(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pydock_edu.kernel", "install", "--user", "--prefix",
                             str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


def test_top_level_kernel_directory_is_the_generated_spec(tmp_path):
    spec.write(tmp_path, python="python")
    files = ["kernel.json", "logo-32x32.png", "logo-64x64.png"]
    _, mismatch, errors = filecmp.cmpfiles(f"{REPO}/kernel", tmp_path, files, shallow=False)
    assert (mismatch, errors) == ([], [])
    with open(f"{REPO}/kernel/kernel.json") as f:
        assert json.load(f)["argv"][0] == "python"


@pytest.mark.parametrize("line, expected", [
    ("docker run --rm busybox echo hi\n", "get_ipython().run_line_magic('docker', '--show run --rm busybox echo hi')\n"),
    ("pydock ps -a\n", "get_ipython().run_line_magic('docker', '--show ps -a')\n"),
    ("docker --explain run busybox true\n", "get_ipython().run_line_magic('docker', '--show --explain run busybox true')\n"),
    ("docker -v\n", "get_ipython().run_line_magic('docker', '--show -v')\n"),
    ("for n in 'ab':\n    docker rm -f $n\n",
     "for n in 'ab':\n    get_ipython().run_line_magic('docker', '--show rm -f $n')\n"),
    ("docker run \\\n  --rm busybox true\n", "get_ipython().run_line_magic('docker', '--show run    --rm busybox true')\n"),
    ("docker = 1\n", "docker = 1\n"),
    ("docker += 1\n", "docker += 1\n"),
    ("docker.ps()\n", "docker.ps()\n"),
    ("docker in names\n", "docker in names\n"),
    ("docker - 1\n", "docker - 1\n"),
    ("docker\n", "docker\n"),
    ('text = """\ndocker run busybox\n"""\n', 'text = """\ndocker run busybox\n"""\n'),
    ("# docker run busybox\n", "# docker run busybox\n"),
])
def test_command_lines_become_magics_and_python_stays_python(line, expected):
    manager = TransformerManager()
    manager.token_transformers.append(CommandLine)
    assert manager.transform_cell(line) == expected


@pytest.mark.privileged
def test_kernel_info(kernel):
    msg_id = kernel.client.kernel_info()
    reply = kernel.client.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.client.get_shell_msg(timeout=30)
    reply = reply["content"]
    assert reply["language_info"]["name"] == "python"
    assert reply["implementation"] == "pydock_edu"


@pytest.mark.privileged
def test_tutorial_lines_run_verbatim(kernel):
    cell = kernel.run("docker run --rm busybox echo hi\n"
                      "pydock run --rm busybox echo there\n"
                      "answer = 6 * 7\n"
                      "print(answer)")
    assert cell.status == "ok", cell.error()
    assert cell.text() == "hi\nthere\n42\n"


@pytest.mark.privileged
def test_each_command_line_shows_its_result_where_it_is(kernel):
    cell = kernel.run("docker ps -a --format '{{.Names}}' --filter name=nothing-by-this-name\n"
                      "docker images --format 'table {{.Repository}}\\t{{.Tag}}' busybox\n"
                      "1 + 1")
    assert cell.status == "ok", cell.error()
    shown = [bundle["text/plain"] for bundle in cell.data()]
    assert shown == ["", "REPOSITORY   TAG\nbusybox      latest\n", "2"]


@pytest.mark.privileged
def test_python_named_docker_is_still_python(kernel):
    cell = kernel.run("docker = 5\ndocker += 1\nprint(docker)\ndel docker")
    assert cell.status == "ok", cell.error()
    assert cell.text() == "6\n"
