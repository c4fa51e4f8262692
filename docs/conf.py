"""Sphinx configuration: the docs/ pages (Markdown, through MyST) and the API reference from docstrings.

Built by ``make docs`` into ``docs/_build/html``, with warnings as errors; ``make test`` builds it
too, so a broken reference fails CI.
"""

from __future__ import annotations

import flask_authrocket

project = "flask-authrocket"
author = "flask-authrocket developers"
copyright = "flask-authrocket developers"
release = flask_authrocket.__version__
version = release

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Signatures show the annotations as written; the descriptions come from the docstrings.
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "furo"
html_title = f"flask-authrocket {release}"


def _no_fence_in_a_code_block(app: object, exception: object) -> None:
    """Warn (an error under ``make docs``'s -W) when a rendered code block of any page holds a fence line.

    A closing fence with text after it does not close the block: the page's next sections then
    render as code and vanish from the contents, and nothing else in the build notices. Every
    page is checked on every build, not only the pages read again (an incremental build would
    pass a broken page it read before).
    """
    from docutils import nodes
    from sphinx.util import logging

    if exception is not None:
        return
    logger = logging.getLogger(__name__)
    env = app.env  # type: ignore[attr-defined]
    for docname in sorted(env.found_docs):
        for block in env.get_doctree(docname).findall(nodes.literal_block):
            for line in block.astext().splitlines():
                if line.lstrip().startswith(("```", "~~~")) and block.get("language") not in ("markdown", "md"):
                    logger.warning(
                        "a code block holds a fence line %r: is a fence above it not closed?", line, location=block
                    )
                    break


def setup(app):  # noqa: ANN001, ANN201 - Sphinx's extension hook
    app.connect("build-finished", _no_fence_in_a_code_block)
    return {"parallel_read_safe": True}
