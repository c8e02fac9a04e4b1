"""The builder's pieces on their own: .dockerignore matching, the layered view, Go's formatting."""

import os
import stat

import pytest

from pydock_edu.build import builder
from pydock_edu.build.context import IgnoreRules, match_regex
from pydock_edu.build.imagefs import ImageFS


@pytest.mark.parametrize("patterns, path, excluded", [
    (["*.log"], "a.log", True),
    (["*.log"], "dir/a.log", False),  # * never crosses a /
    (["**/*.log"], "dir/sub/a.log", True),
    (["**/*.log"], "a.log", True),  # ** matches no directory too
    (["dir"], "dir/deep/file", True),  # a pattern matching a parent excludes what is inside
    (["dir", "!dir/keep"], "dir/keep", False),
    (["dir", "!dir/keep"], "dir/other", True),
    (["/abs/path"], "abs/path", True),  # the leading / is dropped
    (["./a//b/"], "a/b", True),  # cleaned like a path
    (["*", "!important*", "important-but-not-this"], "important-but-not-this", True),
    (["file?.txt"], "file1.txt", True),
    (["file[0-9].txt"], "filex.txt", False),
    (["# just a comment", ""], "# just a comment", False),
    (["a/**"], "a/b/c", True),
    (["a/**/z"], "a/z", True),
])
def test_dockerignore_matching(patterns, path, excluded):
    assert IgnoreRules(patterns).excludes(path) is excluded


def test_dockerignore_exceptions_inside_excluded_directories():
    rules = IgnoreRules(["docs", "!docs/README.md"])
    assert rules.may_keep_inside("docs") and not rules.may_keep_inside("src")


def test_copy_wildcards_stay_in_one_directory():
    assert match_regex("src/*.c").fullmatch("src/main.c")
    assert not match_regex("src/*.c").fullmatch("src/lib/util.c")
    assert match_regex("*").fullmatch("file") and not match_regex("*").fullmatch("dir/file")


@pytest.mark.parametrize("nanoseconds, text", [
    (0, "0s"), (30 * 10**9, "30s"), (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"),
    (1_500_000_000, "1.5s"), (500_000_000, "500ms"), (1_500_000, "1.5ms"), (2_000, "2µs"), (5, "5ns"),
])
def test_go_durations(nanoseconds, text):
    assert builder._go_duration(nanoseconds) == text


def test_go_healthcheck_text():
    check = {"Test": ["CMD-SHELL", "curl -f http://localhost/"], "Interval": 5 * 10**9, "Retries": 3}
    assert builder._go_healthcheck(check) == '&{["CMD-SHELL" "curl -f http://localhost/"] "5s" "0s" "0s" \'\\x03\'}'
    assert builder._go_rune(65) == "'A'" and builder._go_rune(10) == "'\\n'"


@pytest.mark.privileged
def test_the_layered_view_follows_overlayfs_rules(tmp_path):
    upper, lower = tmp_path / "upper", tmp_path / "lower"
    for path, text in (("lower/etc/passwd", "root"), ("lower/etc/group", "g"), ("lower/opt/old/file", "x"),
                       ("lower/bin/sh", "sh"), ("upper/etc/hosts", "h"), ("upper/opt/new", "n")):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    os.mknod(upper / "etc" / "group", stat.S_IFCHR, os.makedev(0, 0))  # a whiteout: deleted above
    os.setxattr(upper / "opt", "trusted.overlay.opaque", b"y")  # upper /opt hides lower /opt's contents
    os.symlink("/bin", upper / "usr-bin")
    view = ImageFS([str(upper), str(lower)])
    assert view.children("etc") == ["hosts", "passwd"]
    assert view.children("opt") == ["new"]
    assert view.lstat("opt/old/file") is None
    assert view.read_text("/etc/passwd") == "root"
    assert view.resolve("/usr-bin/sh") == "bin/sh"
    assert view.resolve("/usr-bin/../../../etc/passwd") == "etc/passwd"  # never above the image's root
    assert view.is_dir("etc") and not view.is_dir("etc/passwd")
