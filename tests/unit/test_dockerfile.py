"""The Dockerfile parser: syntax, instruction grammars, variable substitution and error lines."""

import pathlib
import re

import pytest

from pydock_edu.build.dockerfile import (
    DockerfileError, DockerfileSyntaxError, expand, expand_heredoc, expand_words, parse,
    parse_arg_pairs, parse_duration, parse_env_pairs, parse_healthcheck, parse_trigger)
from pydock_edu.errors import InvalidArgument

ERRORS = pathlib.Path(__file__).parent / "dockerfile_errors"


def instructions(text):
    """The instructions of the first stage of ``FROM busybox`` followed by ``text``."""
    return parse("FROM busybox\n" + text).stages[0].instructions


def only(text):
    (instruction,) = instructions(text)
    return instruction


def error(text, filename="Dockerfile"):
    with pytest.raises(DockerfileError) as caught:
        parse(text, filename)
    return str(caught.value)


# Lines, comments, continuations ------------------------------------------------------------


def test_a_minimal_dockerfile():
    dockerfile = parse("FROM busybox\nCMD [\"sh\"]\n")
    (stage,) = dockerfile.stages
    assert (stage.name, stage.base, stage.platform, stage.line) == (None, "busybox", None, 1)
    assert stage.from_instruction.original == "FROM busybox"
    (cmd,) = stage.instructions
    assert (cmd.cmd, cmd.args, cmd.json, cmd.line) == ("cmd", ["sh"], True, 2)
    assert dockerfile.escape == "\\" and dockerfile.directives == {}


def test_instruction_names_are_case_insensitive():
    dockerfile = parse("from busybox\nRun echo hi\nworkDIR /app\n")
    assert [i.cmd for i in dockerfile.stages[0].instructions] == ["run", "workdir"]
    assert dockerfile.stages[0].instructions[0].original == "Run echo hi"


def test_comments_blank_lines_and_leading_whitespace():
    steps = instructions("\n# a comment\n   # an indented comment\n   RUN echo 'we # keep this'\n")
    assert [(i.args, i.line) for i in steps] == [(["echo 'we # keep this'"], 5)]


def test_line_continuation_joins_lines_and_drops_comments_inside():
    run = only("RUN echo hello \\\n# dropped\n  # dropped too\n  world \\   \n  again\n")
    assert run.args == ["echo hello   world   again"]
    assert run.original == "RUN echo hello   world   again"
    assert run.line == 2


def test_empty_continuation_lines_are_skipped_with_a_warning():
    dockerfile = parse("FROM busybox\nRUN echo a \\\n\n   \n  b\nRUN echo c\n")
    runs = dockerfile.stages[0].instructions
    assert [(r.args, r.line) for r in runs] == [(["echo a   b"], 2), (["echo c"], 6)]
    assert len(dockerfile.warnings) == 2 and dockerfile.warnings[0].startswith("Dockerfile:3:")


def test_an_escaped_escape_does_not_continue_the_line():
    runs = instructions("RUN echo a\\\\\nRUN echo b\n")
    assert [r.args for r in runs] == [["echo a\\\\"], ["echo b"]]


def test_continuation_at_the_end_of_the_file():
    assert only("RUN echo a \\\n").args == ["echo a"]
    assert only("RUN echo b\n\\\n").args == ["echo b"]


def test_byte_order_mark_and_crlf_line_ends():
    dockerfile = parse("\ufeffFROM busybox\r\nRUN echo a \\\r\n  b\r\n")
    assert dockerfile.stages[0].instructions[0].args == ["echo a   b"]


# Parser directives -------------------------------------------------------------------------


def test_directives_are_recorded_with_lowercase_keys():
    dockerfile = parse("# syntax=docker/dockerfile:1\n#  ESCAPE = `\n\nFROM busybox\n")
    assert dockerfile.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert dockerfile.escape == "`"


def test_backtick_escape_continues_lines_and_leaves_backslashes_alone():
    dockerfile = parse("# escape=`\nFROM windows\nCOPY a.txt c:\\\nRUN dir `\n   c:\\\n")
    copy, run = dockerfile.stages[0].instructions
    assert copy.args == ["a.txt", "c:\\"]
    assert run.args == ["dir    c:\\"] and run.escape == "`"


def test_directives_end_at_the_first_comment_blank_line_or_instruction():
    after_comment = parse("# a comment\n# escape=`\nFROM busybox\nRUN a `\n")
    assert after_comment.directives == {} and after_comment.escape == "\\"
    after_blank = parse("\n# escape=`\nFROM busybox\n")
    assert after_blank.directives == {}
    after_unknown = parse("# unknown=1\n# syntax=x\nFROM busybox\n")
    assert after_unknown.directives == {}


def test_directive_errors():
    assert error("# escape=`\n# escape=\\\nFROM busybox\n") == \
        "Dockerfile:2: only one escape parser directive can be used"
    assert error("# syntax=a\n# escape=x\nFROM busybox\n") == \
        "Dockerfile:2: invalid escape token 'x' does not match ` or \\"


# Exec form and shell form ------------------------------------------------------------------


@pytest.mark.parametrize("text, args, is_json", [
    ('RUN ["echo", "a b"]', ["echo", "a b"], True),
    ('RUN   [ "echo" ,"x" ]  ', ["echo", "x"], True),
    ("CMD []", [], True),
    ('ENTRYPOINT ["a", \'b\']', ['["a", \'b\']'], False),
    ('CMD [ "a"', ['[ "a"'], False),
    ('RUN ["c:\\windows\\tasklist.exe"]', ['["c:\\windows\\tasklist.exe"]'], False),
    ("RUN echo [not json]", ["echo [not json]"], False),
])
def test_exec_form_is_a_json_array_of_strings_anything_else_is_shell_form(text, args, is_json):
    instruction = only(text)
    assert (instruction.args, instruction.json) == (args, is_json)


def test_shell_must_be_json():
    shell = only('SHELL ["/bin/bash", "-o", "pipefail", "-c"]')
    assert (shell.args, shell.json) == (["/bin/bash", "-o", "pipefail", "-c"], True)
    assert error("FROM busybox\nSHELL []\n") == "Dockerfile:2: SHELL requires at least one argument"


def test_file_lists_in_both_forms():
    copy, add, volume, json_volume, expose = instructions(
        'COPY a b /dst/\nADD ["with space", "/dst"]\nVOLUME /var/log /var/db\n'
        'VOLUME ["/data"]\nEXPOSE 80/tcp 53/udp\n')
    assert (copy.args, copy.json) == (["a", "b", "/dst/"], False)
    assert (add.args, add.json) == (["with space", "/dst"], True)
    assert volume.args == ["/var/log", "/var/db"] and json_volume.args == ["/data"]
    assert expose.args == ["80/tcp", "53/udp"]


def test_single_string_instructions_keep_the_rest_of_the_line():
    maintainer, user, workdir, stopsignal = instructions(
        "MAINTAINER Jane Doe <jane@example.com>\nUSER app:app\nWORKDIR /my dir\nSTOPSIGNAL SIGKILL\n")
    assert maintainer.args == ["Jane Doe <jane@example.com>"]
    assert user.args == ["app:app"] and workdir.args == ["/my dir"]
    assert stopsignal.args == ["SIGKILL"]


# Flags -------------------------------------------------------------------------------------


def test_from_with_platform_and_stage_name():
    dockerfile = parse("ARG BASE=busybox\nFROM --platform=$BUILDPLATFORM ${BASE}:1 AS Builder\n"
                       "RUN make\nFROM scratch as final\nCOPY --from=builder /out /\n")
    builder, final = dockerfile.stages
    assert (builder.name, builder.base, builder.platform) == ("builder", "${BASE}:1", "$BUILDPLATFORM")
    assert [i.cmd for i in builder.instructions] == ["run"]
    assert (final.name, final.base, final.line) == ("final", "scratch", 4)
    assert [a.args for a in dockerfile.args_before_from] == [["BASE=busybox"]]


def test_copy_and_add_flags():
    copy, add = instructions(
        'COPY --from=build --chown=app:app --chmod=755 --link --exclude=*.md --exclude=*.txt '
        '. /app\nADD --chown="1000:1000" --link=false --keep-git-dir=TRUE x.tar /\n')
    assert copy.flags == {"from": "build", "chown": "app:app", "chmod": "755", "link": True,
                          "exclude": ["*.md", "*.txt"]}
    assert copy.args == [".", "/app"]
    assert add.flags == {"chown": "1000:1000", "link": False, "keep-git-dir": True}


def test_run_mount_flags_are_recorded():
    run = only("RUN --mount=type=cache,target=/root/.cache --mount=type=tmpfs,target=/tmp "
               "--network=none pip install x")
    assert run.flags == {"mount": ["type=cache,target=/root/.cache", "type=tmpfs,target=/tmp"],
                         "network": "none"}
    assert run.args == ["pip install x"]


def test_flags_come_only_before_the_arguments():
    run = only("RUN ls --all")
    assert (run.flags, run.args) == ({}, ["ls --all"])


def test_a_command_starting_with_dashes_is_read_as_a_flag_as_in_docker():
    assert error("FROM busybox\nCMD --help\n") == "Dockerfile:2: Unknown flag: help"


# HEALTHCHECK -------------------------------------------------------------------------------


def test_healthcheck_shell_form_with_options():
    check = only("HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s "
                 "--start-interval=500ms --retries=4 \\\n  CMD curl -f http://localhost/ || exit 1")
    assert check.args == ["CMD", "curl -f http://localhost/ || exit 1"]
    assert parse_healthcheck(check) == {
        "Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"],
        "Interval": 300 * 10**9, "Timeout": 3 * 10**9, "StartPeriod": 90 * 10**9,
        "StartInterval": 500 * 10**6, "Retries": 4}


def test_healthcheck_exec_form_and_none():
    check, none = instructions('HEALTHCHECK cmd ["/bin/check", "-q"]\nHEALTHCHECK none\n')
    assert parse_healthcheck(check) == {"Test": ["CMD", "/bin/check", "-q"]}
    assert parse_healthcheck(none) == {"Test": ["NONE"]}


@pytest.mark.parametrize("text, nanoseconds", [
    ("30s", 30 * 10**9), ("1m30s", 90 * 10**9), ("500ms", 5 * 10**8), ("1.5h", 5400 * 10**9),
    ("0", 0), ("2us", 2000), ("3µs", 3000), ("10ns", 10), (".5s", 5 * 10**8), ("-1s", -(10**9)),
])
def test_go_durations(text, nanoseconds):
    assert parse_duration(text) == nanoseconds


@pytest.mark.parametrize("text, message", [
    ("30", 'time: missing unit in duration "30"'),
    ("5x", 'time: unknown unit "x" in duration "5x"'),
    ("", 'time: invalid duration ""'),
    ("s", 'time: invalid duration "s"'),
])
def test_bad_go_durations(text, message):
    with pytest.raises(DockerfileSyntaxError, match=re.escape(message)):
        parse_duration(text)


# ENV, LABEL, ARG ---------------------------------------------------------------------------


def test_env_key_space_value_takes_the_rest_of_the_line():
    env = only("ENV ONE TWO= THREE=world")
    assert parse_env_pairs(env) == [("ONE", "TWO= THREE=world")]


def test_env_key_value_pairs_with_quotes_and_escapes():
    env = only('ENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog \\\n    MY_CAT=fluffy EMPTY= Q=\'$x\'')
    assert parse_env_pairs(env, {"x": "no"}) == [
        ("MY_NAME", "John Doe"), ("MY_DOG", "Rex The Dog"), ("MY_CAT", "fluffy"),
        ("EMPTY", ""), ("Q", "$x")]


def test_env_values_all_see_the_values_from_before_the_instruction():
    env = only("ENV abc=bye def=$abc")
    assert parse_env_pairs(env, {"abc": "hello"}) == [("abc", "bye"), ("def", "hello")]


def test_label_keys_may_be_quoted():
    label = only('LABEL "com.example.vendor"="ACME Incorporated" version=1.0 \\\n'
                 '      description="spans \\\nlines"')
    assert parse_env_pairs(label) == [("com.example.vendor", "ACME Incorporated"),
                                      ("version", "1.0"), ("description", "spans lines")]


def test_arg_names_and_defaults():
    dockerfile = parse("ARG A B=2 C=\"x y\"\nFROM busybox\nARG D=${B}0\n")
    (before,) = dockerfile.args_before_from
    assert parse_arg_pairs(before) == [("A", None), ("B", "2"), ("C", "x y")]
    (inside,) = dockerfile.stages[0].instructions
    assert parse_arg_pairs(inside, {"B": "2"}) == [("D", "20")]


# Here-documents ----------------------------------------------------------------------------


def test_run_heredoc():
    run, after = instructions("RUN <<EOF\n  apt-get update\n# not a comment here\nEOF\nRUN echo after\n")
    assert run.args == ["<<EOF"]
    (doc,) = run.heredocs
    assert (doc.name, doc.content, doc.expand, doc.chomp) == (
        "EOF", "  apt-get update\n# not a comment here\n", True, False)
    assert after.line == 6


def test_heredoc_with_dash_strips_leading_tabs():
    (doc,) = only("RUN <<-EOT sh\n\t\techo a\n\t  echo b\n\tEOT\n").heredocs
    assert doc.content == "echo a\n  echo b\n" and doc.chomp


def test_quoted_heredoc_delimiter_turns_expansion_off():
    first, second = instructions("COPY <<\"EOF\" /a\n$X\nEOF\nCOPY <<'E'OF /b\n$X\nEOF\n")
    assert [d.expand for d in first.heredocs + second.heredocs] == [False, False]
    assert first.heredocs[0].name == "EOF" and second.heredocs[0].name == "EOF"


def test_several_heredocs_on_one_line_are_read_in_order():
    run = only("RUN <<FILE1 cat > file1 && 3<<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n")
    assert [(d.name, d.content) for d in run.heredocs] == [
        ("FILE1", "I am\nfirst\n"), ("FILE2", "I am\nsecond\n")]


def test_copy_heredoc_is_file_content():
    copy = only("COPY <<EOF <<-END /dest/\nhello world\nEOF\n\tbye\n\tEND\n")
    assert copy.args == ["<<EOF", "<<-END", "/dest/"]
    assert copy.heredoc("<<EOF").content == "hello world\n"
    assert copy.heredoc("<<-END").content == "bye\n"
    assert copy.heredoc("/dest/") is None


def test_heredocs_only_where_docker_reads_them():
    cmd, run_json = instructions('CMD cat <<EOF\nRUN ["cat", "<<EOF"]\n')
    assert cmd.heredocs == [] and run_json.heredocs == []
    assert only("RUN echo '<<EOF' a<<b").heredocs == []


# ONBUILD -----------------------------------------------------------------------------------


def test_onbuild_wraps_an_instruction():
    onbuild = only("ONBUILD COPY --chown=app . /app/src")
    assert onbuild.args == ["COPY --chown=app . /app/src"]
    inner = onbuild.inner
    assert (inner.cmd, inner.args, inner.flags) == ("copy", [".", "/app/src"], {"chown": "app"})
    assert inner.original == "COPY --chown=app . /app/src" and inner.line == 2


def test_onbuild_with_heredoc_keeps_the_body_in_the_trigger_text():
    onbuild, after = instructions("ONBUILD RUN <<EOF\necho hi\nEOF\nRUN after\n")
    assert onbuild.args == ["RUN <<EOF\necho hi\nEOF"]
    assert onbuild.inner.heredocs[0].content == "echo hi\n"
    assert after.line == 5


def test_parse_trigger_reads_a_trigger_back():
    trigger = parse_trigger("RUN <<EOF\necho hi\nEOF", "Dockerfile", 3)
    assert (trigger.cmd, trigger.line, trigger.heredocs[0].content) == ("run", 3, "echo hi\n")
    assert parse_trigger('CMD ["a"]').args == ["a"]
    with pytest.raises(DockerfileError, match=r"^app\.df:4: ONBUILD trigger: FROM isn't allowed"):
        parse_trigger("FROM alpine", "app.df", 4)


# Variable substitution ---------------------------------------------------------------------

ENV = {"FOO": "/bar", "EMPTY": "", "SPACED": "a  b", "X": "x"}


@pytest.mark.parametrize("text, result", [
    ("$FOO", "/bar"),
    ("${FOO}_baz", "/bar_baz"),
    ("$FOO_baz", ""),
    ("$UNSET", ""),
    ("${UNSET:-default}", "default"),
    ("${EMPTY:-default}", "default"),
    ("${EMPTY-default}", ""),
    ("${UNSET-default}", "default"),
    ("${FOO:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${UNSET:-${FOO}/x}", "/bar/x"),
    ("${UNSET:-a b}", "a b"),
    ("${FOO:?no}", "/bar"),
    ("\\$FOO", "$FOO"),
    ("\\${FOO}", "${FOO}"),
    ("'$FOO'", "$FOO"),
    ('"$FOO"', "/bar"),
    ('"\\$FOO \\"q\\" \\n"', '$FOO "q" \\n'),
    ("a\\ b\\\\c", "a b\\c"),
    ("$", "$"),
    ("cost: $5", "cost: "),
    ("100%", "100%"),
    ("it\\'s", "it's"),
])
def test_expand(text, result):
    assert expand(text, ENV) == result


def test_expand_with_backtick_escape():
    assert expand("`$FOO c:\\dir", ENV, escape="`") == "$FOO c:\\dir"


@pytest.mark.parametrize("text, message", [
    ("${FOO", "missing '}'"),
    ("${UNSET:-abc", "missing '}'"),
    ("${}", "bad substitution"),
    ("${FOO:x}", "unsupported modifier (x)"),
    ("${UNSET?is required}", "UNSET: is required"),
    ("${EMPTY:?}", "EMPTY: is not set"),
    ("'open", "matching single-quote"),
    ('"open', "matching double-quote"),
])
def test_expand_errors(text, message):
    with pytest.raises(DockerfileSyntaxError, match=re.escape(message)):
        expand(text, ENV)


def test_expand_words_splits_at_unquoted_whitespace():
    assert expand_words('a "b c"  $SPACED \'$X y\' d\\ e ""', ENV) == ["a", "b c", "a", "b", "$X y", "d e"]
    assert expand_words('"$SPACED"', ENV) == ["a  b"]
    assert expand_words("", ENV) == []


def test_expand_heredoc_follows_shell_here_document_rules():
    body = 'echo "$X" \'${X}\' \\$X \\\\ \\n\n'
    assert expand_heredoc(body, ENV) == 'echo "x" \'x\' $X \\ \\n\n'


# Errors ------------------------------------------------------------------------------------


def test_errors_are_invalid_arguments_of_a_failed_request():
    with pytest.raises(InvalidArgument) as caught:
        parse("FROM busybox\nRUNN x\n", "build/Dockerfile.dev")
    assert str(caught.value) == "build/Dockerfile.dev:2: unknown instruction: RUNN"
    assert caught.value.exit_code == 1 and caught.value.line == 2  # docker build exits 1 for it


def test_empty_file_names_the_file():
    assert error("", "Dockerfile.dev") == \
        "Dockerfile.dev:1: the Dockerfile (Dockerfile.dev) cannot be empty"


def _corpus():
    for path in sorted(ERRORS.glob("*.Dockerfile")):
        text = path.read_text()
        expected = re.match(r"# error: Dockerfile:(\d+): (.*)", text)
        assert expected, f"{path.name}: first line must be '# error: Dockerfile:N: message'"
        yield pytest.param(text, int(expected[1]), expected[2], id=path.stem)


def test_the_error_corpus_is_large_enough():
    assert len(list(_corpus())) >= 15


@pytest.mark.parametrize("text, line, message", list(_corpus()))
def test_error_corpus(text, line, message):
    with pytest.raises(DockerfileError) as caught:
        parse(text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"Dockerfile:{line}: ")
    assert message in caught.value.what
