"""LS0xx: problems with the input itself."""

from __future__ import annotations

from collections.abc import Iterator

from loopsafe.check.context import CheckContext, FileProblem
from loopsafe.check.finding import Finding
from loopsafe.check.registry import rule

_SYNTAX_HELP = "Fix the syntax error, and run loopsafe with the Python version the project runs on"
_INTERNAL_HELP = "This is a bug in loopsafe: please report it with the file"


@rule(
    "LS001",
    "syntax-error",
    message="File could not be parsed: {error}",
    help=_SYNTAX_HELP,
    on="meta",
)
def syntax_error(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Reports a Python file that loopsafe could not read or parse: a syntax error, an undecodable
    byte sequence, a null byte, or nesting too deep for the parser.

    ## Why is this bad?
    A file that does not parse is not analysed, so any blocking call in it goes unreported. The run
    goes on with the other files.

    ## Example
    ```python
    async def handler(:
        ...
    ```

    Use instead:
    ```python
    async def handler():
        ...
    ```

    ## Details
    loopsafe parses with the grammar of the Python interpreter it runs on, so it must run on the
    project's Python version (3.11 or newer): syntax new in 3.12, like `type X = int`, is reported
    as LS001 when loopsafe runs on 3.11.
    """
    for p in ctx.problems:
        if not p.internal:
            yield _at(
                p, "LS001", "syntax-error", f"File could not be parsed: {p.message}", _SYNTAX_HELP
            )


@rule(
    "LS003",
    "analysis-failure",
    message="File could not be analysed: {error}",
    help=_INTERNAL_HELP,
    on="meta",
)
def analysis_failure(ctx: CheckContext) -> Iterator[Finding]:
    """## What it does
    Reports a file that parsed but that loopsafe failed to analyse because of an internal error.

    ## Why is this bad?
    The file's code is not analysed, so blocking calls in it may go unreported. The run goes on.

    ## Example
    ```python
    # any file that triggers a bug in loopsafe
    ```

    Use instead:
    ```python
    # report the bug; meanwhile exclude the file with [tool.loopsafe] extend-exclude
    ```
    """
    for p in ctx.problems:
        if p.internal:
            message = f"File could not be analysed: {p.message}"
            yield _at(p, "LS003", "analysis-failure", message, _INTERNAL_HELP)


def _at(p: FileProblem, code: str, name: str, message: str, help: str) -> Finding:
    return Finding(code, name, message, p.path, p.line, p.column, p.line, p.column, help=help)


RULES = (syntax_error, analysis_failure)
