"""Docker's command-line grammar (pflag's rules) as ``pydock`` parses it."""

import pytest

import pydock_edu.cli.container  # noqa: F401  (registers the container commands)
from pydock_edu.cli import flags, main
from pydock_edu.cli.registry import ALIASES, COMMANDS
from pydock_edu.errors import InvalidArgument, PydockError

RUN = COMMANDS["container run"]
RM = COMMANDS["container rm"]
PS = COMMANDS["container ls"]


def parse_run(*argv):
    return flags.parse(RUN, list(argv))


def test_grouped_short_booleans():
    options, args = parse_run("-it", "busybox", "sh")
    assert options["interactive"] and options["tty"] and not options["detach"]
    assert args == ["busybox", "sh"]


def test_grouped_booleans_may_end_with_a_value_flag():
    options, _ = parse_run("-ite", "A=1", "busybox")
    assert options["interactive"] and options["tty"] and options["env"] == ["A=1"]


@pytest.mark.parametrize("argv", [["-e", "X=1"], ["-eX=1"], ["-e=X=1"], ["--env", "X=1"], ["--env=X=1"]])
def test_value_flag_spellings(argv):
    options, args = parse_run(*argv, "busybox")
    assert options["env"] == ["X=1"] and args == ["busybox"]


def test_short_flag_with_equals_keeps_the_rest_of_the_value():
    """pflag drops one ``=`` after a shorthand: ``-e==x`` is the value ``=x``."""
    options, _ = parse_run("-e==x", "busybox")
    assert options["env"] == ["=x"]


def test_short_boolean_with_a_value():
    options, _ = parse_run("-d=false", "-i=true", "busybox")
    assert options["detach"] is False and options["interactive"] is True


def test_list_flags_accumulate_in_order():
    options, _ = parse_run("-e", "A=1", "--env", "B=2", "-eC=3", "busybox")
    assert options["env"] == ["A=1", "B=2", "C=3"]


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False), ("1", True), ("0", False),
                                             ("T", True), ("F", False)])
def test_long_boolean_with_a_value(value, expected):
    options, _ = parse_run(f"--rm={value}", "busybox")
    assert options["rm"] is expected


def test_boolean_with_a_bad_value():
    with pytest.raises(InvalidArgument, match='invalid argument "maybe" for "--rm" flag'):
        parse_run("--rm=maybe", "busybox")


def test_run_stops_parsing_at_the_image():
    """``run busybox ls -l``: ``-l`` belongs to ``ls``, not to ``run`` (``-l`` is --label there)."""
    options, args = parse_run("--rm", "busybox", "ls", "-l", "--rm")
    assert args == ["busybox", "ls", "-l", "--rm"]
    assert options["label"] == [] and options["rm"] is True


def test_double_dash_ends_the_flags():
    options, args = parse_run("--name", "x", "--", "-d", "busybox")
    assert options["name"] == "x" and not options["detach"]
    assert args == ["-d", "busybox"]


def test_interspersed_commands_take_flags_after_arguments():
    options, args = flags.parse(RM, ["one", "-f", "two"])
    assert options["force"] is True and args == ["one", "two"]


def test_a_lone_dash_is_an_argument():
    _, args = flags.parse(RM, ["-"])
    assert args == ["-"]


def test_defaults():
    options, _ = parse_run("busybox")
    assert options["env"] == [] and options["rm"] is False and options["name"] is None
    options, _ = flags.parse(PS, [])
    assert options["last"] == -1 and options["filter"] == []


def test_int_flag():
    options, _ = parse_run("--pids-limit", "20", "busybox")
    assert options["pids_limit"] == 20
    with pytest.raises(InvalidArgument, match=r'invalid argument "lots" for "--pids-limit" flag'):
        parse_run("--pids-limit", "lots", "busybox")


def test_unknown_long_flag():
    with pytest.raises(InvalidArgument) as e:
        parse_run("--bogus", "busybox")
    assert str(e.value) == "unknown flag: --bogus. See 'pydock container run --help'."
    assert e.value.exit_code == 125


def test_unknown_shorthand():
    with pytest.raises(InvalidArgument, match=r"unknown shorthand flag: 'Z' in -iZ"):
        parse_run("-iZ", "busybox")


@pytest.mark.parametrize("argv", [["--name"], ["-e"], ["-it", "-e"]])
def test_missing_flag_value(argv):
    with pytest.raises(InvalidArgument, match="flag needs an argument"):
        parse_run(*argv)


def test_argument_counts():
    with pytest.raises(InvalidArgument, match=r'"pydock container run" requires at least 1 argument'):
        parse_run("--rm")
    with pytest.raises(InvalidArgument, match=r'"pydock container ls" accepts no arguments'):
        flags.parse(PS, ["extra"])
    rename = COMMANDS["container rename"]
    with pytest.raises(InvalidArgument, match="requires exactly 2 arguments"):
        flags.parse(rename, ["only-one"])


def test_short_aliases_and_management_form_reach_the_same_command():
    assert ALIASES["run"] == "container run" and ALIASES["ps"] == "container ls"
    assert main.find_command(["run", "busybox"]) == (RUN, ["busybox"])
    assert main.find_command(["container", "run", "busybox"]) == (RUN, ["busybox"])
    assert main.find_command(["container", "ps"])[0] is PS
    assert main.find_command(["container", "list"])[0] is PS


def test_unknown_command_and_subcommand():
    with pytest.raises(PydockError, match="'frobnicate' is not a pydock command"):
        main.find_command(["frobnicate"])
    with pytest.raises(PydockError, match='unknown command "frob" for "pydock container"'):
        main.find_command(["container", "frob"])


def test_help_lists_the_flags():
    text = flags.help_text(RUN)
    assert text.startswith("Usage:  pydock container run [OPTIONS] IMAGE [COMMAND] [ARG...]\n")
    assert "  -e, --env list" in text and "      --rm " in text
    assert "Aliases:\n  pydock container run, pydock run" in text


class _Capture:
    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)

    def flush(self):
        pass

    @property
    def text(self):
        return "".join(self.parts)


def run_main(*argv):
    out, err = _Capture(), _Capture()
    code = main.main(list(argv), main.Context(stdout=out, stderr=err))
    return code, out.text, err.text


def test_main_reports_bad_flags_in_one_line():
    code, out, err = run_main("run", "--bogus", "busybox")
    assert code == 125 and out == ""
    assert err == "Error: unknown flag: --bogus. See 'pydock container run --help'.\n"


def test_main_unknown_global_flag_and_command():
    assert run_main("--frob")[0] == 125
    code, _, err = run_main("frobnicate")
    assert code == 1 and err.count("\n") == 1


def test_main_help_and_version():
    code, out, _ = run_main("run", "--help")
    assert code == 0 and out.startswith("Usage:  pydock container run")
    code, out, _ = run_main("--version")
    assert code == 0 and out.startswith("pydock version ")
    code, out, _ = run_main("container")
    assert code == 0 and "  run " in out
