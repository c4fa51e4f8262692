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
