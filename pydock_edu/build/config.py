"""The Dockerfile instructions that only change an image's config, never its files.

Shared by the builder, ``import --change`` and ``commit --change``: CMD, ENTRYPOINT, ENV, EXPOSE,
LABEL, ONBUILD, USER, VOLUME, WORKDIR, STOPSIGNAL, SHELL, HEALTHCHECK.
"""

import posixpath

from . import dockerfile

DEFAULT_SHELL = ["/bin/sh", "-c"]


def command_words(instruction, config):
    """Exec form as written; shell form wrapped in the image's SHELL (default ``/bin/sh -c``)."""
    if instruction.json:
        return list(instruction.args)
    return [*(config.get("Shell") or DEFAULT_SHELL), instruction.args[0] if instruction.args else ""]


def env_dict(config):
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in config.get("Env") or [])


def apply_instruction(config, instruction, env):
    """Change ``config`` (an image's container config) as ``instruction`` says.

    ``env`` holds the variables (ARG and ENV) used to expand arguments. Returns True when the
    instruction was one of these config-only instructions.
    """
    cmd = instruction.cmd
    expand = lambda text: dockerfile.expand(text, env, instruction.escape)  # noqa: E731
    if cmd == "cmd":
        config["Cmd"] = command_words(instruction, config)
    elif cmd == "entrypoint":
        config["Entrypoint"] = command_words(instruction, config)
        config["Cmd"] = None  # a new ENTRYPOINT drops the CMD inherited from the base image
    elif cmd == "env":
        variables = env_dict(config)
        variables.update(dockerfile.parse_env_pairs(instruction, env))
        config["Env"] = [f"{k}={v}" for k, v in variables.items()]
    elif cmd == "label":
        config["Labels"] = {**(config.get("Labels") or {}), **dict(dockerfile.parse_env_pairs(instruction, env))}
    elif cmd == "expose":
        ports = config.get("ExposedPorts") or {}
        for word in instruction.args:
            port = expand(word)
            ports[port if "/" in port else port + "/tcp"] = {}
        config["ExposedPorts"] = ports
    elif cmd == "volume":
        volumes = config.get("Volumes") or {}
        for word in instruction.args:
            volumes[expand(word)] = {}
        config["Volumes"] = volumes
    elif cmd == "workdir":
        path = expand(instruction.args[0])
        config["WorkingDir"] = posixpath.normpath(posixpath.join(config.get("WorkingDir") or "/", path))
    elif cmd == "user":
        config["User"] = expand(instruction.args[0])
    elif cmd == "stopsignal":
        config["StopSignal"] = expand(instruction.args[0])
    elif cmd == "shell":
        config["Shell"] = list(instruction.args)
    elif cmd == "onbuild":
        config["OnBuild"] = [*(config.get("OnBuild") or []), instruction.args[0]]
    elif cmd == "healthcheck":
        config["Healthcheck"] = dockerfile.parse_healthcheck(instruction)
    else:
        return False
    return True
