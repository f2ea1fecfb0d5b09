"""What ``ledger serve`` gives Datasette besides the read model: a plugin and templates.

``plugins/ledger_pages.py`` shows values in words (the command line's words), links to
reports and their archived copies, a page per incident and the incidents on the home
page; ``templates/`` puts each canned query's answer first, with help beside each
field, and keeps the SQL out of the page title. They are handed to the Datasette
process ``serve`` starts (``--plugins-dir``, ``--template-dir``), so other Datasette
instances in the same environment are left as they are.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SITE = Path(str(files(__name__)))
PLUGINS = SITE / "plugins"
TEMPLATES = SITE / "templates"
