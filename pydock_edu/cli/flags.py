"""Docker's command-line grammar: flags before, between or after arguments, as pflag parses them.

A command declares its flags; :func:`parse` turns ``argv`` into (options, arguments). Forms:
``--name value``, ``--name=value``, ``-n value``, ``-nvalue``, grouped booleans ``-it``,
``--rm=false``, and ``--`` to end flags. Commands that take a command line of their own
(``run IMAGE CMD...``, ``exec``) stop parsing flags at the first argument, so ``run busybox ls -l``
passes ``-l`` to ``ls``.
"""

from ..errors import FlagError, UsageError


class Flag:
    """One flag: its names (``("-e", "--env")``), kind (bool, str, int, list) and default."""

    def __init__(self, names, kind="bool", default=None, help="", metavar=""):
        self.names, self.kind, self.default, self.help, self.metavar = names, kind, default, help, metavar

    @property
    def key(self):
        return max(self.names, key=len).lstrip("-").replace("-", "_")


class Command:
    """A command (``container run``): its function, flags, how many arguments it takes, and whether it
    makes a container (``run`` and ``create`` exit 125 when they fail)."""

    def __init__(self, name, function, usage, help, flags=(), aliases=(), interspersed=True, min_args=0,
                 max_args=None, runs_container=False):
        self.name, self.function, self.usage, self.help = name, function, usage, help
        self.flags, self.aliases, self.interspersed = list(flags), tuple(aliases), interspersed
        self.min_args, self.max_args, self.runs_container = min_args, max_args, runs_container

    def find(self, name):
        return next((f for f in self.flags if name in f.names), None)


def flag(names, kind="bool", default=None, help="", metavar=""):
    return Flag(tuple(n.strip() for n in names.split(",")), kind, default, help, metavar)


def _default(f):
    if f.kind == "list":
        return []
    if f.kind == "bool":
        return bool(f.default)
    return f.default


def parse(command, argv):
    """Split ``argv`` into (options dict keyed by long name, positional arguments)."""
    options = {f.key: _default(f) for f in command.flags}
    args = []
    i = 0
    while i < len(argv):
        word = argv[i]
        i += 1
        if word == "--":
            args.extend(argv[i:])
            break
        if not word.startswith("-") or word == "-":
            args.append(word)
            if not command.interspersed:
                args.extend(argv[i:])
                break
            continue
        if word.startswith("--"):
            name, has_value, value = word.partition("=")
            f = command.find(name)
            if f is None:
                raise _unknown(command, name)
            if f.kind == "bool":
                options[f.key] = _parse_bool(value, name) if has_value else True
                continue
            if not has_value:
                if i >= len(argv):
                    raise _needs_argument(command, name)
                value = argv[i]
                i += 1
            _store(options, f, value, name)
            continue
        # Short flags: -it, -e X, -eX
        letters = word[1:]
        while letters:
            name = "-" + letters[0]
            f = command.find(name)
            if f is None:
                raise FlagError(f"unknown shorthand flag: '{letters[0]}' in {word}. "
                                f"See 'pydock {command.name} --help'.")
            letters = letters[1:]
            attached = letters[1:] if letters.startswith("=") and len(letters) > 1 else None  # -d=false, -e=X
            if f.kind == "bool":
                if attached is None:
                    options[f.key] = True
                else:
                    options[f.key], letters = _parse_bool(attached, name), ""
                continue
            if letters:
                value, letters = (letters if attached is None else attached), ""
            elif i < len(argv):
                value = argv[i]
                i += 1
            else:
                raise _needs_argument(command, name)
            _store(options, f, value, name)
    if len(args) < command.min_args or (command.max_args is not None and len(args) > command.max_args):
        raise UsageError(_arg_count_message(command))
    return options, args


def _store(options, f, value, name):
    if f.kind == "list":
        options[f.key].append(value)
    elif f.kind == "int":
        options[f.key] = _parse_int(value, name)
    else:
        options[f.key] = value


def _parse_int(value, name):
    """A decimal 64-bit integer, as Go's strconv.ParseInt reads it (no spaces, no ``_``)."""
    import re

    problem = "invalid syntax"
    if re.fullmatch(r"[+-]?[0-9]+", value):
        number = int(value)
        if -2**63 <= number < 2**63:
            return number
        problem = "value out of range"
    raise FlagError(f'invalid argument "{value}" for "{name}" flag: strconv.ParseInt: '
                    f'parsing "{value}": {problem}')


def _parse_bool(value, name):
    lowered = value.lower()
    if lowered in ("true", "1", "t"):
        return True
    if lowered in ("false", "0", "f"):
        return False
    raise FlagError(f'invalid argument "{value}" for "{name}" flag: strconv.ParseBool: '
                    f'parsing "{value}": invalid syntax')


def _unknown(command, name):
    return FlagError(f"unknown flag: {name}. See 'pydock {command.name} --help'.")


def _needs_argument(command, name):
    return FlagError(f"flag needs an argument: {name}. See 'pydock {command.name} --help'.")


def _arg_count_message(command):
    if command.max_args == 0:
        return f'"pydock {command.name}" accepts no arguments. See \'pydock {command.name} --help\'.'
    if command.min_args == command.max_args:
        return (f'"pydock {command.name}" requires exactly {command.min_args} argument'
                f'{"s" if command.min_args != 1 else ""}. See \'pydock {command.name} --help\'.')
    return (f'"pydock {command.name}" requires at least {command.min_args} argument'
            f'{"s" if command.min_args != 1 else ""}. See \'pydock {command.name} --help\'.')


def help_text(command):
    """The text of ``pydock COMMAND --help``."""
    lines = [f"Usage:  pydock {command.name} {command.usage}".rstrip(), "", command.help, ""]
    if command.aliases:
        lines += ["Aliases:", "  " + ", ".join(["pydock " + command.name, *("pydock " + a for a in command.aliases)]), ""]
    if command.flags:
        lines.append("Options:")
        for f in command.flags:
            short = next((n for n in f.names if not n.startswith("--")), "")
            long = next((n for n in f.names if n.startswith("--")), "")
            left = (f"{short}, " if short else "    ") + long + (f" {f.metavar or f.kind}" if f.kind != "bool" else "")
            lines.append(f"  {left:<28} {f.help}")
    return "\n".join(lines) + "\n"
