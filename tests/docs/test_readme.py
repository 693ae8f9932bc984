"""The README and the docs/ pages stay true: every command they show is accepted by the command it names, every
script they run exists, and every relative link reaches an existing file and heading.

Commands are checked in-process against the same argparse parsers the console scripts use (no TensorFlow is
imported: the parsers are built without it): in ``bash`` code blocks the whole command line must parse, and in
inline code (`` `edge-kit ... --epochs 80` ``, often a fragment) every flag must be one the command defines. Flags
are compared exactly, because argparse would also accept an abbreviation of a renamed flag (``--alpha`` for
``--alpha-width``)."""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import shlex
from pathlib import Path, PurePosixPath
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
#: Pages whose links must resolve: the README, every page under docs/, the Android sample's README.
LINK_PAGES = sorted({*REPO.glob("*.md"), *(REPO / "docs").rglob("*.md"), *(REPO / "android-sample").glob("*.md")})
#: Pages whose commands must run as shown. docs/benchmarks.md records commands as they ran on a given day (a later
#: rename does not rewrite history), so it is left out.
COMMAND_PAGES = [page for page in LINK_PAGES if page.name != "benchmarks.md"]

#: Console script -> its CLI module, from pyproject.toml (``edge-train = "trainer.cli:main"``).
SCRIPTS: Dict[str, str] = {name: target.split(":")[0] for name, target in
                           tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"].items()}
#: ``python -m trainer`` runs the same CLI as ``edge-train``.
MODULES: Dict[str, str] = {module.split(".")[0]: name for name, module in SCRIPTS.items()}
#: The sub-command a command runs when its first argument names none (``edge-convert RUN_DIR`` = ``convert``).
DEFAULT_SUBCOMMAND = {"edge-convert": "convert"}
SHELL_FENCES = {"bash", "sh", "shell", "console"}
SEPARATORS = {"&&", "||", ";", "|", "&"}
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)


# ---- reading the pages -------------------------------------------------------------------------------------------

def _shell_blocks(text: str) -> Iterator[str]:
    for match in FENCE.finditer(text):
        if match.group(1).strip().lower() in SHELL_FENCES:
            yield match.group(2)


def _without_fences(text: str) -> str:
    return FENCE.sub("", text)


def _inline_code(text: str) -> List[str]:
    return re.findall(r"(?<!`)`([^`\n]+)`(?!`)", _without_fences(text))


def _simple_commands(line: str) -> List[List[str]]:
    """Split one shell line into its simple commands (at ``&&``, ``|``, ``;``), comments dropped, leading
    ``VAR=value`` assignments removed."""
    line = re.sub(r"<([A-Za-z_][\w-]*)>", r"\1", line)  # a placeholder (runs/<name>), not a redirection
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, current = [], []
    for token in lexer:
        if token in SEPARATORS:
            commands.append(current)
            current = []
        else:
            current.append(token)
    commands.append(current)
    result = []
    for argv in commands:
        while argv and ENV_ASSIGNMENT.match(argv[0]):
            argv = argv[1:]
        if argv:
            result.append(argv)
    return result


def _block_commands(block: str) -> List[List[str]]:
    joined = block.replace("\\\n", " ")
    return [argv for line in joined.splitlines() for argv in _simple_commands(line)]


def _which_cli(argv: List[str]) -> Tuple[str, List[str]]:
    """(console script, its arguments) for ``edge-kit ...``, ``.venv/bin/edge-kit ...``, ``python -m pipeline ...``;
    ("", []) for anything else."""
    program = PurePosixPath(argv[0]).name
    if program in SCRIPTS:
        return program, argv[1:]
    if program.startswith("python") and len(argv) > 2 and argv[1] == "-m" and argv[2] in MODULES:
        return MODULES[argv[2]], argv[3:]
    return "", []


# ---- the commands' own parsers -----------------------------------------------------------------------------------

def _cli(script: str):
    return importlib.import_module(SCRIPTS[script])


def _parse_as_main_does(script: str) -> Callable[[List[str]], argparse.Namespace]:
    """The parse step of each command's ``main``."""
    cli = _cli(script)
    if script == "edge-convert":
        return cli._parse  # adds the default sub-command
    if script == "edge-classify":
        return lambda args: cli.build_parser().parse_intermixed_args(args)  # photos may follow options
    return lambda args: cli.build_parser().parse_args(args)


def _options(script: str, args: List[str]) -> set:
    """Every option string the command (and the sub-command that ``args`` selects) defines."""
    parser = _cli(script).build_parser()
    options = {opt for action in parser._actions for opt in action.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = args[0] if args and args[0] in action.choices else DEFAULT_SUBCOMMAND.get(script)
            if name in action.choices:
                options |= {opt for sub in action.choices[name]._actions for opt in sub.option_strings}
    return options


def _flags(args: List[str]) -> List[str]:
    flags = []
    for token in args:
        token = token.strip("[]")  # a synopsis: [--mean M]
        if token == "--":
            break
        if token.startswith("-") and len(token) > 1 and not re.match(r"^-[0-9.]", token):
            flags.append(token.split("=", 1)[0])
    return flags


def _unknown_flags(script: str, args: List[str]) -> List[str]:
    known = _options(script, args)
    return [flag for flag in _flags(args) if flag not in known]


def _parse_error(script: str, args: List[str]) -> str:
    """argparse's message when the command refuses ``args``, else ""."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            _parse_as_main_does(script)(args)
    except SystemExit as exc:
        if exc.code:
            return stderr.getvalue().strip().splitlines()[-1]
    return ""


# ---- the tests ---------------------------------------------------------------------------------------------------

def _page_commands() -> List[Tuple[str, List[str]]]:
    found = []
    for page in COMMAND_PAGES:
        for block in _shell_blocks(page.read_text(encoding="utf-8")):
            found += [(page.relative_to(REPO).as_posix(), argv) for argv in _block_commands(block)]
    return found


def _page_inline_commands() -> List[Tuple[str, List[str]]]:
    found = []
    for page in COMMAND_PAGES:
        for span in _inline_code(page.read_text(encoding="utf-8")):
            try:
                commands = _simple_commands(span)
            except ValueError:  # an unbalanced quote: prose, not a command
                continue
            found += [(page.relative_to(REPO).as_posix(), argv) for argv in commands if _which_cli(argv)[0]]
    return found


def test_the_readme_shows_the_two_commands():
    """Set up + the main job, and set up + the tests, in the README's first code blocks."""
    blocks = list(_shell_blocks(README.read_text(encoding="utf-8")))
    first = _block_commands(blocks[0])
    assert ["bash", "scripts/setup.sh"] in first and any(_which_cli(argv)[0] == "edge-kit" for argv in first)
    assert any(["bash", "scripts/test.sh"] == argv for block in blocks[1:] for argv in _block_commands(block))


@pytest.mark.parametrize("page,argv", _page_commands(), ids=lambda value: " ".join(value)[:80]
                         if isinstance(value, list) else value)
def test_each_command_in_a_code_block_runs_as_shown(page, argv):
    script, args = _which_cli(argv)
    if script:
        unknown = _unknown_flags(script, args)
        assert not unknown, f"{page}: `{shlex.join(argv)}`: {script} has no {', '.join(unknown)}"
        error = _parse_error(script, args)
        assert not error, f"{page}: `{shlex.join(argv)}`: {error}"
    elif PurePosixPath(argv[0]).name in ("bash", "sh"):
        assert (REPO / argv[1]).is_file(), f"{page}: `{shlex.join(argv)}`: no {argv[1]}"
    elif PurePosixPath(argv[0]).name.startswith("python") and len(argv) > 1 and argv[1].endswith(".py"):
        assert (REPO / argv[1]).is_file(), f"{page}: `{shlex.join(argv)}`: no {argv[1]}"


def test_every_flag_in_inline_code_exists():
    wrong = []
    for page, argv in _page_inline_commands():
        script, args = _which_cli(argv)
        unknown = _unknown_flags(script, args)
        if unknown:
            wrong.append(f"{page}: `{shlex.join(argv)}`: {script} has no {', '.join(unknown)}")
    assert not wrong, "\n".join(wrong)


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation but ``-`` and ``_`` dropped, spaces to ``-``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set:
    anchors, seen = set(), {}
    for match in re.finditer(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", _without_fences(page.read_text(encoding="utf-8")), re.M):
        slug = _slug(match.group(1))
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _links(page: Path) -> List[str]:
    text = re.sub(r"`[^`\n]+`", "", _without_fences(page.read_text(encoding="utf-8")))
    return re.findall(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text)


def test_every_relative_link_resolves():
    broken = []
    for page in LINK_PAGES:
        for link in _links(page):
            if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # https:, mailto:
                continue
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(REPO).as_posix()}: ({link})"
            if not target.exists():
                broken.append(f"{where}: no such file")
            elif anchor and target.suffix == ".md" and anchor not in _anchors(target):
                broken.append(f"{where}: {target.name} has no heading #{anchor}")
    assert not broken, "\n".join(broken)


def test_the_checks_catch_what_they_are_for():
    """The helpers above do find a renamed flag, a bad value and a missing heading (so the tests cannot pass by
    checking nothing)."""
    assert _unknown_flags("edge-kit", ["photos/", "--out", "runs/x", "--alpha-width", "0.35"]) == ["--alpha-width"]
    assert _unknown_flags("edge-convert", ["export", "runs/x", "--variant", "int8"]) == []
    assert _unknown_flags("edge-convert", ["runs/x", "--variant", "int8"]) == ["--variant"]  # export's, not convert's
    assert "--format" in _parse_error("edge-classify", ["model.tflite", "photo.jpg", "--format", "xml"])
    assert _anchors(REPO / "docs" / "cli.md") >= {"exit-status"}
    assert len(_page_commands()) >= 10 and len(_page_inline_commands()) >= 5
