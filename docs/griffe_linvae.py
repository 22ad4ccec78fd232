"""Griffe extension of the API reference: turns the docstrings' cross-references into checked links.

linvae's docstrings cite other objects with Sphinx roles (``:func:`optimum```, ``:class:`~linvae.Table```) and the
documentation pages as plain text ("docs/theory.md §3"). Rendered as they are, both would be dead text; this
extension, loaded by mkdocstrings (``extensions: [docs/griffe_linvae.py]`` in mkdocs.yml), rewrites them in every
docstring before rendering:

- a role that names a public object (one reachable through a subpackage's ``__all__``, a member of such a class, or
  a public module) becomes an autorefs link to its entry in the reference (a constant without a docstring of its
  own: to its subpackage, whose docstring lists it under "Attributes"), ``[`optimum`][linvae.theory.optimum]``;
  short names resolve as Python would in the docstring's module. A role that names a private object (a ``_module``
  or an internal helper, cited for developers) stays code. A role that names nothing is reported as a warning,
  which fails ``mkdocs build --strict``.
- "docs/PAGE.md" becomes a link to that page and each "§N" after it a link to the page's heading "N. …"; a page
  or section that does not exist is a warning, so a renumbered theory page fails the strict build.

The links are relative to ``docs/reference/``, where every API page lives. Text inside code spans is left alone.
"""

import pathlib
import re

import griffe
from markdown.extensions.toc import slugify

DOCS = pathlib.Path(__file__).resolve().parent
logger = griffe.get_logger("griffe_linvae")

ROLE = re.compile(r":(?:func|mod|class|data|attr|meth|obj|exc):`(?P<tilde>~?)\.?(?P<target>[\w.]+)`")
PAGE = re.compile(r"docs/(?P<page>[\w/-]+)\.md(?P<sections>(?:,? §\d+)*)")
SECTION = re.compile(r"§(\d+)")
CODE = r"(?P<ticks>`+)(?:(?!(?P=ticks)).)+?(?P=ticks)"  # a Markdown code span: equal backtick runs open and close it
TOKEN = re.compile(f"{ROLE.pattern}|{CODE}", re.DOTALL)
HEADING = re.compile(r"^#{2,6}\s+(?P<text>.+?)\s*$", re.MULTILINE)


def _private(path):
    return any(part.startswith("_") for part in path.split("."))


def _walk(obj):
    """Every object defined in the package (not the aliases that re-export them)."""
    yield obj
    for member in obj.members.values():
        if not member.is_alias:
            yield from _walk(member)


def _sections(page):
    """``{N: anchor}`` for the headings "N. …" of ``docs/PAGE.md`` (``None``: no such page)."""
    path = DOCS / f"{page}.md"
    if not path.is_file():
        return None
    sections = {}
    for match in HEADING.finditer(path.read_text(encoding="utf-8")):
        text = match["text"].replace("`", "").replace("*", "")
        number = re.match(r"(\d+)\.\s", text)
        if number:
            sections.setdefault(int(number[1]), slugify(text, "-"))
    return sections


class LinvaeReferences(griffe.Extension):
    """Rewrite roles and page citations of every docstring of the package into checked links."""

    def on_package(self, *, pkg, loader, **kwargs):
        self.collection = loader.modules_collection
        self.public = self._public_paths(pkg)
        self.pages = {}
        for obj in _walk(pkg):
            if obj.docstring is not None:
                obj.docstring.value = self._rewrite(obj, obj.docstring.value)

    # --- what is rendered, and under which path --------------------------------------------------------------
    def _public_paths(self, pkg):
        """Canonical path → path of its reference entry: subpackage exports first, then the top level's."""
        public = {pkg.path: pkg.path}
        subpackages = [m for name, m in pkg.members.items()
                       if not m.is_alias and m.is_module and not name.startswith("_")]
        for module in [*subpackages, pkg]:
            public.setdefault(module.path, module.path)
            for name in module.exports or ():
                name = name if isinstance(name, str) else name.name
                try:
                    target = module.get_member(name).final_target
                except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
                    continue
                # a constant without a docstring of its own has no entry: its module's docstring lists it
                documented = not target.is_attribute or target.docstring is not None
                public.setdefault(target.path, f"{module.path}.{name}" if documented else module.path)
        return public

    def _canonical(self, obj, target):
        """The canonical path of ``target`` as seen from ``obj``'s docstring, or ``None``."""
        candidates = [target]
        scope = obj
        while scope is not None:  # short names: the object itself, its parents, its module (imports included)
            candidates.append(f"{scope.path}.{target}")
            scope = scope.parent
        for path in candidates:
            try:
                found = self.collection.get_member(path)
            except (KeyError, ValueError):
                continue
            try:
                return found.final_target.path if found.is_alias else found.path
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                return found.target_path
        return None

    def _link(self, obj, match):
        target = match["target"]
        shown = f"`{target.rsplit('.', 1)[-1] if match['tilde'] else target}`"
        canonical = self._canonical(obj, target)
        if canonical is None:
            if not _private(target):
                logger.warning(f"{obj.relative_filepath}:{obj.lineno or 1}: {obj.path}: cross-reference "
                               f"{match[0]!r} names nothing in linvae")
            return shown
        head, rest = canonical, ""
        while head and head not in self.public:  # a member of a public class: the class's path plus the member
            head, _, last = head.rpartition(".")
            rest = f".{last}{rest}"
        if not head or _private(rest):
            return shown  # a private object, cited for developers: code, not a link
        return f"[{shown}][{self.public[head]}{rest}]"

    # --- the documentation pages ------------------------------------------------------------------------------
    def _page_link(self, obj, match):
        page = match["page"]
        if page not in self.pages:
            self.pages[page] = _sections(page)
        sections = self.pages[page]
        if sections is None:
            logger.warning(f"{obj.relative_filepath}:{obj.lineno or 1}: {obj.path}: docs/{page}.md does not exist")
            return match[0]

        def section(m):
            number = int(m[1])
            if number not in sections:
                logger.warning(f"{obj.relative_filepath}:{obj.lineno or 1}: {obj.path}: docs/{page}.md has no "
                               f"section {number}")
                return m[0]
            return f"[§{number}](../{page}.md#{sections[number]})"

        return f"[docs/{page}.md](../{page}.md)" + SECTION.sub(section, match["sections"])

    def _rewrite(self, obj, text):
        out, start = [], 0
        for token in TOKEN.finditer(text):  # a role, or a code span left alone; page citations in the prose between
            out.append(PAGE.sub(lambda m: self._page_link(obj, m), text[start:token.start()]))
            out.append(self._link(obj, token) if token["target"] else token[0])
            start = token.end()
        out.append(PAGE.sub(lambda m: self._page_link(obj, m), text[start:]))
        return "".join(out)
