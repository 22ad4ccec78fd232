"""Every code example in README.md and docs/**/*.md runs, and every output block shows what its code prints.

The convention (also in docs/getting-started.md, section "Writing examples"):

- A fenced block whose language is ``python`` (or ``py``) or ``bash`` (or ``sh``, ``shell``) is an example, and it
  is executed. The examples of one page run in page order, in one fresh Python process per page (the python
  blocks share one namespace, as in a script), in an empty temporary working directory that the page's bash
  blocks share; the folder beside it, ``../shared``, links to the repository's sibling ``shared/`` folder when that
  exists, so paths written as from the repository root (``../shared/worldclim10m``) work. Bash blocks run with
  ``bash -e -o pipefail`` and find ``linvae`` and ``python`` of the running interpreter first on ``PATH``.
  The environment has ``MPLBACKEND=Agg`` and, unless set, ``JAX_PLATFORMS=cpu``, so outputs do not depend on an
  accelerator. Blocks in other languages (``text``, ``yaml``, ``toml``, ...) are not run; ``console``, ``pycon``
  and ``ipython`` blocks are refused (write the commands as ``bash``/``python`` and the output as an output
  block).
- Markers are HTML comments on the line(s) directly above a fence (no blank line between; one marker a comment,
  several comments may be stacked). They are invisible on GitHub and on the site.

  ``<!-- output -->``
      the block below (usually ``text``) is the expected standard output of the nearest example above it on the
      page. Compared after removing trailing spaces and leading/trailing blank lines. Standard error (progress
      bars, warnings) is never compared. At most one output block per example.
  ``<!-- volatile: REGEX -->``
      with ``output``: text matching the Python regular expression is masked in the expected and in the actual
      output before comparing (timings, versions). May be repeated. Mask only what truly varies.
  ``<!-- skip: REASON -->``
      the example is not run (installs software, needs a network, runs the whole test suite, shows a syntax
      only); the test reports it as skipped with the reason. A reason is required.
  ``<!-- requires: PATH -->``
      run the example only when PATH exists (relative to the repository root, e.g. ``../shared/worldclim10m``);
      otherwise it is reported as skipped with the reason.
  ``<!-- slow -->``
      the example takes more than a few seconds: it runs only under ``pytest -m slow`` (the default run reports
      it as skipped). The slow run executes the whole page, slow examples included.
  ``<!-- timeout: SECONDS -->``
      time limit of the example (default 120 s).

  A marker applies to its block only: an example that uses what a skipped one made must be marked too (or the
  page fails, which says so). A ``text`` (or unlabelled) block directly after an example without an ``output``
  marker is refused as ambiguous: mark it, or put a sentence between.
- Nothing is left unexecuted silently: every example the default run does not execute is a skipped test item
  (``pytest -ra`` lists them with their reasons).

Cost: the default run of the examples must stay small (about a minute on two cores for all pages): use small
data, short grids and the exact method; mark anything longer ``slow``.

Regenerating output blocks after a change of the printed text: ``python tests/test_docs_examples.py --update
docs/getting-started.md`` (pages as arguments; all pages without) reruns the pages and rewrites their output
blocks with what the code now prints; ``--slow`` includes slow examples. Without ``--update`` it reports only.
"""

import contextlib
import dataclasses
import difflib
import io
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("**/*.md"))]
PYTHON, SHELL = ("python", "py"), ("bash", "sh", "shell")
REFUSED = ("console", "pycon", "ipython", "shell-session", "doctest")
BARE = ("", "text", "output")  # languages an output block is written in; unmarked after an example: ambiguous
KEYS = ("output", "volatile", "skip", "requires", "slow", "timeout")
DEFAULT_TIMEOUT = 120.0

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
MARKER = re.compile(r"^\s*<!--\s*(?P<key>[a-z]+)\b\s*:?\s*(?P<value>.*?)\s*-->\s*$")


class DocsError(ValueError):
    """A page breaks the example convention (the message says where and how)."""


@dataclasses.dataclass
class Block:
    """One fenced block of a page."""

    page: pathlib.Path
    line: int             # 1-based line of the opening fence
    lang: str
    text: str             # content, the fence's indentation removed
    indent: str
    content: tuple        # 0-based [start, stop) line range of the content
    markers: dict         # key -> value (volatile: list of patterns)

    @property
    def where(self):
        return f"{_rel(self.page)}:{self.line}"

    @property
    def kind(self):
        if "output" in self.markers:
            return "output"
        return "python" if self.lang in PYTHON else "shell" if self.lang in SHELL else "other"


@dataclasses.dataclass
class Example:
    """An executable block, with the output block that shows what it prints (if any)."""

    block: Block
    output: Block | None = None

    def not_run(self, slow=False):
        """Why the example does not run (``None``: it runs)."""
        m = self.block.markers
        if "skip" in m:
            return f"marked skip: {m['skip']}"
        if "requires" in m and not (REPO / m["requires"]).exists():
            return f"needs {m['requires']} (absent)"
        if "slow" in m and not slow:
            return "slow: runs under pytest -m slow"
        return None


def _rel(path):
    """The path as written in messages: relative to the repository where it lies inside."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def parse(page: pathlib.Path) -> list[Block]:
    """The fenced blocks of a markdown page with their markers; :class:`DocsError` on a convention error."""
    lines = page.read_text(encoding="utf-8").splitlines()
    rel = _rel(page)
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            marker = MARKER.match(lines[i])
            if marker and marker["key"] in KEYS and not _attached(lines, i):
                raise DocsError(f"{rel}:{i + 1}: marker {lines[i].strip()!r} is not directly above a fence")
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        lang = m["info"].strip().split(" ")[0].strip("{}.").lower()
        j = i + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        while j < len(lines) and not closing.match(lines[j]):
            j += 1
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[i + 1:j]]
        blocks.append(Block(page, i + 1, lang, "\n".join(body), indent, (i + 1, j), _markers(lines, i, rel)))
        i = j + 1
    return blocks


def _attached(lines, i):
    """True if the marker on line ``i`` is followed, through marker lines only, by a fence."""
    j = i + 1
    while j < len(lines) and MARKER.match(lines[j]):
        j += 1
    return j < len(lines) and bool(FENCE.match(lines[j]))


def _markers(lines, fence_line, rel):
    markers, j = {}, fence_line - 1
    while j >= 0 and (m := MARKER.match(lines[j])):
        key, value = m["key"], m["value"]
        if key not in KEYS:
            raise DocsError(f"{rel}:{j + 1}: unknown marker {key!r} above a fence; known: {', '.join(KEYS)}")
        if key == "volatile":
            re.compile(value)
            markers.setdefault("volatile", []).append(value)
        elif key in ("skip", "requires", "timeout") and not value:
            raise DocsError(f"{rel}:{j + 1}: marker {key!r} needs a value, e.g. <!-- {key}: ... -->")
        else:
            markers[key] = value
        j -= 1
    if "volatile" in markers and "output" not in markers:
        raise DocsError(f"{rel}:{fence_line + 1}: 'volatile' goes with 'output' only")
    return markers


def examples(page: pathlib.Path) -> list[Example]:
    """The page's examples in order, each with its output block; :class:`DocsError` on a convention error."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, previous = [], None
    for block in parse(page):
        kind = block.kind
        if kind == "other" and block.lang in REFUSED and "skip" not in block.markers:
            raise DocsError(f"{block.where}: a {block.lang!r} block cannot be run; write the commands as bash or "
                            "python and what they print as an output block (see tests/test_docs_examples.py)")
        if kind in ("python", "shell"):
            found.append(Example(block))
        elif kind == "output":
            if not found:
                raise DocsError(f"{block.where}: output block with no example above it on the page")
            if found[-1].output is not None:
                raise DocsError(f"{block.where}: a second output block for the example at {found[-1].block.where}")
            found[-1].output = block
        elif block.lang in BARE and previous is not None and previous.kind in ("python", "shell"):
            between = lines[previous.content[1] + 1: block.line - 1]
            if not any(ln.strip() for ln in between):
                raise DocsError(f"{block.where}: a {block.lang or 'plain'} block right after the example at "
                                f"{previous.where}: mark it <!-- output --> if it is what the example prints, or "
                                "put a sentence between")
        previous = block
    return found


# ---- running a page --------------------------------------------------------------------------------------------

def run_page(page: pathlib.Path, workdir: pathlib.Path, *, slow=False):
    """Run the page's examples in order in ``workdir`` (one fresh process); returns ``(examples, results)``,
    ``results[i]`` for the i-th example that runs: ``{"stdout", "stderr", "error", "seconds"}``. Stops at the first
    failing example."""
    todo = [e for e in examples(page) if e.not_run(slow) is None]
    if not todo:
        return todo, []
    work = workdir / "work"
    work.mkdir(parents=True, exist_ok=True)
    if SHARED.is_dir() and not (workdir / "shared").exists():
        (workdir / "shared").symlink_to(SHARED, target_is_directory=True)
    request = {"cwd": str(work), "blocks": [
        {"kind": e.block.kind, "code": e.block.text, "where": e.block.where,
         "timeout": float(e.block.markers.get("timeout", DEFAULT_TIMEOUT))} for e in todo]}
    result_file = workdir / "results.json"
    env = dict(os.environ, MPLBACKEND="Agg", TQDM_DISABLE="1",
               PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.setdefault("JAX_PLATFORMS", "cpu")
    env.pop("PYTEST_CURRENT_TEST", None)
    limit = sum(b["timeout"] for b in request["blocks"]) + 60
    proc = subprocess.run([sys.executable, __file__, "--worker", str(result_file)], input=json.dumps(request),
                          capture_output=True, text=True, env=env, cwd=work, timeout=limit)
    if not result_file.exists():
        raise RuntimeError(f"the example runner died (status {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return todo, json.loads(result_file.read_text())


def _worker(result_file):
    """Run the blocks of one page (JSON on stdin) and write their results: the process the test starts."""
    request = json.loads(sys.stdin.read())
    cwd = request["cwd"]
    os.chdir(cwd)
    sys.path[0] = cwd  # as if a script in the working directory: not tests/
    namespace = {"__name__": "__main__"}
    results = []

    def alarm(signum, frame):
        raise TimeoutError("the example ran past its time limit")

    signal.signal(signal.SIGALRM, alarm)
    for block in request["blocks"]:
        out, err, error, start = io.StringIO(), io.StringIO(), None, time.perf_counter()
        if block["kind"] == "python":
            signal.alarm(max(1, int(block["timeout"])))
            try:
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    exec(compile(block["code"], block["where"], "exec"), namespace)
            except BaseException:  # any failure of the example is reported, SystemExit included
                error = traceback.format_exc()
            finally:
                signal.alarm(0)
            stdout, stderr = out.getvalue(), err.getvalue()
        else:
            try:
                proc = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block["code"]], capture_output=True,
                                      text=True, timeout=block["timeout"])
                stdout, stderr = proc.stdout, proc.stderr
                if proc.returncode:
                    error = f"exit status {proc.returncode}"
            except subprocess.TimeoutExpired as e:
                stdout, stderr = _text(e.stdout), _text(e.stderr)
                error = f"ran past its time limit of {block['timeout']:g} s"
        results.append({"stdout": stdout, "stderr": stderr, "error": error,
                        "seconds": time.perf_counter() - start})
        if error:
            break
    pathlib.Path(result_file).write_text(json.dumps(results))


def _text(data):
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def normalise(text, volatile=()):
    """Lines without trailing spaces, leading and trailing blank lines dropped, volatile patterns masked."""
    lines = [ln.rstrip() for ln in text.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    for pattern in volatile:
        lines = [re.sub(pattern, "<volatile>", ln) for ln in lines]
    return lines


def problems(page: pathlib.Path, workdir: pathlib.Path, *, slow=False):
    """Messages for every failing example or differing output block of the page (empty: all good)."""
    todo, results = run_page(page, workdir, slow=slow)
    found = []
    for example, result in zip(todo, results):
        block = example.block
        if result["error"]:
            found.append(f"{block.where}: the {block.kind} example failed ({result['seconds']:.1f} s): "
                         f"{result['error']}\n--- stdout\n{result['stdout']}\n--- stderr\n{result['stderr'][-4000:]}")
            break
        if example.output is not None:
            volatile = example.output.markers.get("volatile", [])
            want, got = normalise(example.output.text, volatile), normalise(result["stdout"], volatile)
            if want != got:
                diff = "\n".join(difflib.unified_diff(want, got, "shown in the page", "printed", lineterm=""))
                found.append(f"{example.output.where}: the output block differs from what the example at "
                             f"{block.where} prints (regenerate: python tests/test_docs_examples.py --update "
                             f"{_rel(block.page)}):\n{diff}")
    if len(results) < len(todo) and not found:
        found.append(f"{_rel(page)}: the runner stopped after {len(results)} of {len(todo)} examples")
    return found


# ---- the tests ---------------------------------------------------------------------------------------------------

def _page_id(page):
    return _rel(page)


def _not_run_items():
    items = []
    for page in PAGES:
        try:
            found = examples(page)
        except DocsError:
            continue  # test_page_examples reports it
        items += [pytest.param(e.block.where, e.not_run(), id=e.block.where) for e in found if e.not_run()]
    return items


def _pages_with_slow_examples():
    pages = []
    for page in PAGES:
        with contextlib.suppress(DocsError):  # test_page_examples reports it
            if any("slow" in e.block.markers for e in examples(page)):
                pages.append(page)
    return pages


@pytest.mark.parametrize("page", PAGES, ids=_page_id)
def test_page_examples(page, tmp_path):
    """The page follows the convention, its examples run in order and print what its output blocks show."""
    try:
        found = problems(page, tmp_path)
    except DocsError as e:
        pytest.fail(str(e))
    assert not found, "\n\n".join(found)


@pytest.mark.parametrize(("where", "reason"), _not_run_items() or [pytest.param(None, None, id="none")])
def test_example_not_run_by_default(where, reason):
    """Each example the default run leaves out is reported here, skipped, with its reason."""
    if where is None:
        return
    pytest.skip(f"{where}: {reason}")


@pytest.mark.slow
@pytest.mark.parametrize("page", _pages_with_slow_examples() or [None], ids=lambda p: _page_id(p) if p else "none")
def test_page_examples_slow(page, tmp_path):
    """Pages with slow examples, run whole (slow examples included)."""
    if page is None:
        return
    found = problems(page, tmp_path, slow=True)
    assert not found, "\n\n".join(found)


def test_convention_is_enforced(tmp_path):
    """The parser refuses what the convention forbids and reads what it allows (a page written here)."""
    def page(text):
        path = tmp_path / "page.md"
        path.write_text(text)
        return examples(path)

    good = page("```python\nprint(1)\n```\n\n<!-- output -->\n<!-- volatile: \\d -->\n```text\n2\n```\n"
                "<!-- skip: shows a syntax -->\n```bash\npip install linvae\n```\n")
    assert [e.block.kind for e in good] == ["python", "shell"]
    assert good[0].output.markers["volatile"] == ["\\d"] and good[1].not_run() == "marked skip: shows a syntax"
    assert normalise("x  \n\n", good[0].output.markers["volatile"]) == ["x"]
    assert normalise(good[0].output.text, ["\\d"]) == normalise("7", ["\\d"])
    for bad in ("```python\nx = 1\n```\n```text\n1\n```\n",          # unmarked text right after an example
                "<!-- output -->\n\n```text\n1\n```\n",               # marker not directly above a fence
                "<!-- output -->\n```text\n1\n```\n",                 # output with no example above
                "<!-- skip -->\n```bash\nls\n```\n",                  # skip without a reason
                "<!-- outptu -->\n```bash\nls\n```\n",                # unknown marker
                "```console\n$ ls\n```\n"):                           # refused language
        with pytest.raises(DocsError):
            page(bad)


def main(argv):
    """``python tests/test_docs_examples.py [--update] [--slow] [PAGE ...]``: run pages, report, optionally
    rewrite their output blocks with what the examples print now."""
    update, slow = "--update" in argv, "--slow" in argv
    pages = [pathlib.Path(a).resolve() for a in argv if not a.startswith("--")] or PAGES
    status = 0
    for page in pages:
        with tempfile.TemporaryDirectory() as tmp:
            todo, results = run_page(page, pathlib.Path(tmp), slow=slow)
        lines = page.read_text(encoding="utf-8").splitlines()
        edits = []
        for example, result in zip(todo, results):
            if result["error"]:
                print(f"{example.block.where}: FAILED ({result['error']})\n{result['stderr'][-3000:]}")
                status = 1
                break
            out = example.output
            if out is not None and normalise(out.text, out.markers.get("volatile", [])) != normalise(
                    result["stdout"], out.markers.get("volatile", [])):
                print(f"{out.where}: output differs" + (" (rewritten)" if update else ""))
                status = status or (0 if update else 1)
                edits.append((out, [out.indent + ln if ln else "" for ln in normalise(result["stdout"])]))
            print(f"{example.block.where}: ran in {result['seconds']:.1f} s")
        if update and edits:
            for out, new in sorted(edits, key=lambda e: -e[0].line):
                lines[out.content[0]:out.content[1]] = new
            page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return status


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        _worker(sys.argv[2])
    else:
        sys.exit(main(sys.argv[1:]))
