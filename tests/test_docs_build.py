"""The documentation site builds with ``mkdocs build --strict`` (docs/reference/building-the-docs.md).

Strict mode turns every warning into a failure: a broken link or anchor, a page missing from the nav, a docstring
that Griffe cannot parse, a cross-reference (``:func:`name```) to a name that does not exist, a citation of a
theory section ("docs/theory.md §N") that no heading carries, an error in a block generated at build time. The
build runs once, into a temporary folder; the other tests read the pages it wrote.
"""

import html
import importlib
import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
BUILD = [sys.executable, "-m", "mkdocs", "build", "--strict"]  # to move to Zensical: ["zensical", "build", "--strict"]
SUBPACKAGES = ["model", "theory", "data", "results", "analysis", "train", "factors", "plot"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    env.setdefault("JAX_PLATFORMS", "cpu")  # the generated pages import linvae; no accelerator needed
    run = subprocess.run([*BUILD, "--config-file", str(REPO / "mkdocs.yml"), "--site-dir", str(out)], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=300)
    problems = [line for line in run.stderr.splitlines() if re.match(r"\s*(WARNING|ERROR)\b", line)]
    assert run.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(problems or run.stderr.splitlines()[-30:])
    return out


def _text(page):
    """The visible text of a built page's article."""
    body = page.read_text(encoding="utf-8")
    article = body[body.find("<article"):body.find("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", " ", article))


def test_strict_build_passes(site):
    assert (site / "index.html").is_file()


def test_api_pages_document_every_public_name(site):
    """Every name of every subpackage's ``__all__`` has its entry, or (a constant) is described on the page."""
    missing = []
    for sub in SUBPACKAGES:
        page = site / "reference" / sub / "index.html"
        body = page.read_text(encoding="utf-8")
        text = _text(page)
        for name in importlib.import_module(f"linvae.{sub}").__all__:
            if f'id="linvae.{sub}.{name}"' not in body and not re.search(rf"\b{name}\b", text):
                missing.append(f"linvae.{sub}.{name}")
    assert not missing, f"public names without documentation: {missing}"


def test_cli_reference_is_generated_from_the_parser(site):
    import argparse

    from linvae.cli import build_parser

    text = _text(site / "reference" / "cli" / "index.html")
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in commands.choices.items():
        assert f"linvae {name}" in text
        for action in parser._actions:
            if action.help is not argparse.SUPPRESS:
                assert all(option in text for option in action.option_strings), (name, action.option_strings)


def test_performance_tables_are_generated_from_the_results(site):
    import json

    text = _text(site / "performance" / "index.html")
    for path in sorted((REPO / "benchmarks" / "results").glob("*.json")):
        assert path.name in text
        assert json.loads(path.read_text())["device"] in text
