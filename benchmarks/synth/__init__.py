"""A synthetic FastAPI codebase with blocking mistakes planted at known lines.

``generate(out, seed, lines)`` writes the tree and its ``planted.json`` manifest; the same seed
always gives the same tree. The modules, in the order the data flows:

* ``words``: vocabulary (nouns, verbs, parameter shapes, model fields) and literals;
* ``spec``: the planned objects (functions, domains, planted mistakes, decoys) and mistake kinds;
* ``emit``: the module text builder (imports, lines, sites) and expression helpers;
* ``plan``: ``Generator``, which plans utils, domains, call edges and where mistakes go;
* ``fillers``, ``body``: statements of one function body (fillers, calls, blocking I/O);
* ``functions``: sync and async helper functions, and the ``utils/`` modules;
* ``plant``: a planted mistake inside an async function, recorded in the manifest;
* ``models``, ``repositories``, ``services``, ``routers``: the per-domain layers;
* ``templates``, ``fixed``: ``core/``, ``clients.py``, ``deps.py``, ``main.py``, ``pyproject.toml``;
* ``tree``: render everything, write the tree and ``planted.json``, verify it.
"""

from .tree import TREE_MARKER, Tree, generate, planted_summary, verify_tree

__all__ = ["TREE_MARKER", "Tree", "generate", "planted_summary", "verify_tree"]
