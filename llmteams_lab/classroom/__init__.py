"""``llmteams-lab classroom``: the lessons served as apps with Voilà (an app, above every level).

app   what to serve, Voilà's command line and template, serving until Ctrl-C
cli   the ``classroom`` subcommand

Needs the ``[classroom]`` extra (Voilà), imported only when serving.
"""

from llmteams_lab.classroom.app import (
    TEMPLATE,
    lessons_dir,
    resolve_target,
    serve_classroom,
)

__all__ = ["TEMPLATE", "lessons_dir", "resolve_target", "serve_classroom"]
