"""The CLI reference in docs/cli.md, generated from --help so it never drifts (a test checks it)."""

from __future__ import annotations

import click

from etl.cli import cli


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name in sorted(group.commands):
        command = group.commands[name]
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def cli_reference() -> str:
    """Markdown with the --help text of `crowdaudit` and of every command under it."""
    sections = ["# crowdaudit command reference", "",
                "Generated from `--help` by `make docs`; `tests/test_cli_reference.py` checks it is current.", ""]
    entries = [((), cli), *_commands(cli)]
    for path, command in entries:
        name = " ".join(("crowdaudit", *path))
        context = click.Context(command, info_name=name, terminal_width=100, max_content_width=100,
                                help_option_names=["-h", "--help"])
        sections += [f"## `{name}`", "", "```", command.get_help(context).rstrip(), "```", ""]
    return "\n".join(sections)


if __name__ == "__main__":
    print(cli_reference(), end="")
