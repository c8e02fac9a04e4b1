"""Reading ``-v``, ``--mount``, ``--tmpfs`` and ``--volumes-from`` as Docker does (no containers needed)."""

import os

import pytest

from pydock_edu.errors import InvalidArgument
from pydock_edu.volume import specs
from pydock_edu.volume.store import validate_name


def test_volume_flag_forms():
    assert specs.parse_volume_flag("data:/srv/data") == {
        "Type": "volume", "Source": "data", "Target": "/srv/data", "ReadOnly": False, "Mode": ""}
    bind = specs.parse_volume_flag("/etc:/host-etc:ro")
    assert (bind["Type"], bind["Source"], bind["ReadOnly"], bind["Mode"]) == ("bind", "/etc", True, "ro")
    anonymous = specs.parse_volume_flag("/cache")
    assert (anonymous["Type"], anonymous["Source"], anonymous["Target"]) == ("volume", "", "/cache")
    assert specs.parse_volume_flag("data:/d:nocopy")["VolumeOptions"] == {"NoCopy": True}
    assert specs.parse_volume_flag("/src:/d:ro,rshared")["BindOptions"] == {"Propagation": "rshared"}


def test_relative_sources_are_resolved_against_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert specs.parse_volume_flag("./site:/www")["Source"] == str(tmp_path / "site")
    assert specs.parse_volume_flag(".:/www")["Source"] == str(tmp_path)
    assert specs.parse_volume_flag("../x:/www")["Source"] == os.path.join(os.path.dirname(tmp_path), "x")
    assert specs.parse_mount_flag("type=bind,src=./site,dst=/www")["Source"] == str(tmp_path / "site")


@pytest.mark.parametrize("text, message", [
    ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
    ("/data:ro", "invalid volume specification: '/data:ro'"),
    (":/data", "invalid volume specification: ':/data'"),
    ("/src:/data:bogus", "invalid mode: bogus"),
    ("/src:/data:ro,rw", "invalid mode: ro,rw"),
    ("data:rel", "invalid volume specification: 'data:rel': invalid mount config for type \"volume\": "
                 "invalid mount path: 'rel' mount path must be absolute"),
    ("/src:/", "invalid volume specification: '/src:/': invalid mount config for type \"bind\": "
               "invalid specification: destination can't be '/'"),
    ("/src:/d:nocopy", "invalid volume specification: '/src:/d:nocopy': invalid mount config for type "
                       "\"bind\": field VolumeOptions must not be specified"),
])
def test_volume_flag_errors(text, message):
    with pytest.raises(InvalidArgument) as e:
        specs.parse_volume_flag(text)
    assert str(e.value) == message


def test_mount_flag_forms():
    assert specs.parse_mount_flag("type=bind,source=/src,target=/dst,readonly") == {
        "Type": "bind", "Source": "/src", "Target": "/dst", "ReadOnly": True}
    assert specs.parse_mount_flag("target=/d") == {"Type": "volume", "Target": "/d"}
    spec = specs.parse_mount_flag('src=v1,dst=/d,volume-nocopy,volume-label=a=b,"volume-opt=o=size=1m,uid=5"')
    assert spec["VolumeOptions"] == {"NoCopy": True, "Labels": {"a": "b"},
                                     "DriverConfig": {"Options": {"o": "size=1m,uid=5"}}}
    tmpfs = specs.parse_mount_flag("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770")
    assert tmpfs["TmpfsOptions"] == {"SizeBytes": 64 * 1024 * 1024, "Mode": 0o1770}
    assert specs.tmpfs_options(tmpfs["TmpfsOptions"]) == "size=64m,mode=1770"


@pytest.mark.parametrize("text, reason", [
    ("type=bind,target", "invalid field 'target' must be a key=value pair"),
    ("target=/x,bogus=1", "unexpected key 'bogus' in 'bogus=1'"),
    ("source=/tmp", "target is required"),
    ("type=,target=/x", "type is required"),
    ("type=volume,target=/x,readonly=maybe", "invalid value for readonly: maybe"),
    ("type=tmpfs,target=/x,tmpfs-size=abc", "invalid value for tmpfs-size: abc"),
    ("type=bind,source=/tmp,target=/x,volume-nocopy", "cannot mix 'volume-*' options with mount type 'bind'"),
])
def test_mount_flag_errors_are_the_clis(text, reason):
    with pytest.raises(InvalidArgument) as e:
        specs.parse_mount_flag(text)
    assert str(e.value) == f'invalid argument "{text}" for "--mount" flag: {reason}'


@pytest.mark.parametrize("spec, reason", [
    ({"Type": "bind", "Source": "/nonexistent-pydock", "Target": "/x"},
     'invalid mount config for type "bind": bind source path does not exist: /nonexistent-pydock'),
    ({"Type": "foo", "Target": "/x"}, 'invalid mount config for type "foo": mount type unknown'),
    ({"Type": "bind", "Source": "rel", "Target": "/x"},
     "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"),
    ({"Type": "tmpfs", "Source": "/a", "Target": "/x"},
     'invalid mount config for type "tmpfs": field Source must not be specified'),
    ({"Type": "volume", "Target": "/x", "ReadOnly": True},
     'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes'),
])
def test_mount_config_errors_are_the_daemons(spec, reason):
    with pytest.raises(InvalidArgument) as e:
        specs.validate(spec, bind_source_must_exist=True)
    assert str(e.value) == reason


def test_tmpfs_options_split_into_flags_and_data():
    assert specs.parse_tmpfs_flag("/run//:size=1m,exec") == ("/run", "size=1m,exec")
    assert specs.tmpfs_mount("size=1m,exec,ro,nosuid") == {"readonly": True, "noexec": False, "options": "size=1m"}
    assert specs.tmpfs_mount("") == {"readonly": False, "noexec": True, "options": ""}
    with pytest.raises(InvalidArgument, match="^invalid mount path: 'rel' mount path must be absolute$"):
        specs.parse_tmpfs_flag("rel")


def test_volumes_from_modes():
    assert specs.parse_volumes_from("data") == ("data", False)
    assert specs.parse_volumes_from("data:ro") == ("data", True)
    assert specs.parse_volumes_from("data:rw") == ("data", False)
    for bad in ("data:bad", "data:rshared", "data:nocopy"):
        with pytest.raises(InvalidArgument, match=f"^invalid mode: {bad.split(':')[1]}$"):
            specs.parse_volumes_from(bad)


@pytest.mark.parametrize("name", ["a/b", "..", "../etc", "-x", ".hidden", "a b"])
def test_volume_names_are_directory_names(name):
    with pytest.raises(InvalidArgument) as e:
        validate_name(name)
    assert str(e.value) == (f'create {name}: "{name}" includes invalid characters for a local volume name, '
                            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
                            'directory, use absolute path')


def test_a_volume_name_has_two_characters_at_least():
    validate_name("db")
    validate_name("my-vol_1.0")
    with pytest.raises(InvalidArgument, match="^create x: volume name is too short, names should be at least "
                                              "two alphanumeric characters$"):
        validate_name("x")
