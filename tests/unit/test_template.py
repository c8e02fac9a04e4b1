"""The --format template language behaves like Go's text/template as Docker uses it."""
import pytest

from pydock_edu.cli.template import parse, render
from pydock_edu.errors import InvalidArgument

CONTAINER = {
    "Id": "3f2a1b9c0d1e",
    "Name": "/web",
    "State": {"Status": "running", "Running": True, "Paused": False, "Pid": 4242, "ExitCode": 0},
    "Config": {"Image": "busybox", "Cmd": ["sh", "-c", "echo hi"], "Labels": {"tier": "front", "app": "shop"},
               "Healthcheck": None, "Env": []},
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.19.0.2"}}},
    "Size": 1.5,
}


@pytest.mark.parametrize("template, expected", [
    ("plain text", "plain text"),
    ("{{.Name}}", "/web"),
    ("{{.State.Pid}}", "4242"),
    ("{{.State.Running}} {{.State.Paused}}", "true false"),
    ("{{.NetworkSettings.Networks.bridge.IPAddress}}", "172.19.0.2"),
    ("{{.Config.Cmd}}", "[sh -c echo hi]"),
    ("{{.Config.Labels}}", "map[app:shop tier:front]"),
    ("{{.Config.Healthcheck}}", "<nil>"),
    ("{{.Config.Nothing}}", "<no value>"),
    ("{{.Size}}", "1.5"),
])
def test_fields_print_like_go(template, expected):
    assert render(template, CONTAINER) == expected


def test_json_is_compact():
    assert render("{{json .Config.Labels}}", CONTAINER) == '{"tier":"front","app":"shop"}'
    assert render("{{json .Config.Cmd}}", CONTAINER) == '["sh","-c","echo hi"]'
    assert render("{{json .Config.Healthcheck}}", CONTAINER) == "null"
    assert render("{{json .}}", {"a": 1, "b": "<&>"}) == '{"a":1,"b":"<&>"}'


@pytest.mark.parametrize("template, expected", [
    ('{{index .Config.Labels "tier"}}', "front"),
    ('{{index .Config.Labels "missing"}}', ""),
    ("{{index .Config.Cmd 1}}", "-c"),
    ('{{join .Config.Cmd ","}}', "sh,-c,echo hi"),
    ('{{upper "busybox"}} {{lower "ABC"}} {{title "hello world"}}', "BUSYBOX abc Hello World"),
    ("{{len .Config.Cmd}} {{len .Config.Labels}} {{len .Name}}", "3 2 4"),
    ("{{println .Name}}", "/web\n"),
    ('{{print 1 2 "a" "b"}}', "1 2ab"),
    ('{{split "a:b" ":"}}', "[a b]"),
    ('{{pad "x" 1 2}}|{{truncate .Id 4}}', " x  |3f2a"),
    ('{{if eq .State.Status "exited" "running"}}yes{{end}}', "yes"),
    ('{{if ne .State.Pid 0}}pid{{end}} {{if not .State.Paused}}active{{end}}', "pid active"),
    ("{{and 1 0 2}} {{or 0 \"\" 3}}", "0 3"),
    ('{{len (index .Config.Labels "app")}}', "4"),
])
def test_functions(template, expected):
    assert render(template, CONTAINER) == expected


def test_pipelines_pass_the_value_as_last_argument():
    assert render("{{.Config.Image | upper}}", CONTAINER) == "BUSYBOX"
    assert render('{{.Config.Cmd | len | print "n=" }}', CONTAINER) == "n=3"


def test_if_else_and_else_if():
    template = '{{if .State.Paused}}paused{{else if .State.Running}}running{{else}}stopped{{end}}'
    assert render(template, CONTAINER) == "running"
    assert render(template, {"State": {"Paused": False, "Running": False}}) == "stopped"
    assert render("{{if .Config.Env}}env{{else}}no env{{end}}", CONTAINER) == "no env"


def test_range_over_lists_and_maps():
    assert render("{{range .Config.Cmd}}[{{.}}]{{end}}", CONTAINER) == "[sh][-c][echo hi]"
    assert render("{{range $i, $arg := .Config.Cmd}}{{$i}}={{$arg}} {{end}}", CONTAINER) == "0=sh 1=-c 2=echo hi "
    labels = "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}"
    assert render(labels, CONTAINER) == "app=shop;tier=front;"  # map keys in sorted order
    networks = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    assert render(networks, CONTAINER) == "172.19.0.2"
    assert render("{{range .Config.Env}}x{{else}}empty{{end}}", CONTAINER) == "empty"


def test_variables_with_and_dollar():
    assert render("{{$n := .Name}}{{$n}}", CONTAINER) == "/web"
    assert render("{{range .Config.Cmd}}{{$.Name}} {{end}}", CONTAINER) == "/web /web /web "
    assert render("{{with .State}}{{.Status}}{{end}}", CONTAINER) == "running"
    assert render("{{with .Config.Healthcheck}}yes{{else}}none{{end}}", CONTAINER) == "none"


def test_whitespace_trimming_and_comments():
    assert render("a \n {{- .Name -}} \n b", CONTAINER) == "a/webb"
    assert render("{{- /* a comment */ -}} x", CONTAINER) == "x"
    assert render("{{-3}}", CONTAINER) == "-3"


def test_typed_escapes_become_tab_and_newline():
    assert render(r"{{.Name}}\t{{.Id}}\n", CONTAINER) == "/web\t3f2a1b9c0d1e\n"


def test_string_literals():
    assert render('{{"a\\"b}}"}}', {}) == 'a"b}}'
    assert render("{{`C:\\dir`}}", {}) == "C:\\dir"  # a raw string keeps its backslashes


def test_objects_with_attributes_and_methods():
    class Row:
        ID = "abc"

        def Label(self, name):
            return {"tier": "front"}.get(name, "")

    assert render('{{.ID}} {{.Label "tier"}}', Row()) == "abc front"


def test_a_template_is_parsed_once_and_rendered_many_times():
    template = parse("{{.Name}}")
    assert [template.render({"Name": n}) for n in "ab"] == ["a", "b"]


@pytest.mark.parametrize("template, message", [
    ("{{foo .}}", 'template: :1: function "foo" not defined'),
    ("{{.Name", "template: :1: unclosed action"),
    ("{{if .Name}}", "template: :1: unexpected EOF"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("line\n{{}}", "template: :2: missing value for command"),
    ("{{$x}}", 'template: :1: undefined variable "$x"'),
    ('{{"abc}}', "template: :1: unterminated quoted string"),
    ("{{.Name.First}}", 'template: :1:2: executing "" at <.Name.First>: '
                        "can't evaluate field First in type string"),
    ("{{index .Config.Cmd 5}}", 'template: :1:2: executing "" at <index .Config.Cmd 5>: '
                                "error calling index: index out of range: 5"),
    ("{{upper}}", 'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0'),
    ("{{.Config.Healthcheck.Test}}", 'template: :1:2: executing "" at <.Config.Healthcheck.Test>: '
                                     "nil pointer evaluating interface {}.Test"),
])
def test_errors_use_gos_words(template, message):
    with pytest.raises(InvalidArgument) as err:
        render(template, CONTAINER)
    assert str(err.value) == "template parsing error: " + message


def test_missing_keys_can_be_errors_as_in_docker_inspect():
    with pytest.raises(InvalidArgument) as err:
        parse("{{.Foo}}").render(CONTAINER, missing_key_error=True)
    assert str(err.value) == ('template parsing error: template: :1:2: executing "" at <.Foo>: '
                              'map has no entry for key "Foo"')
