"""Docstring audit of every public name (issue 12 item 6).

Every name in ``linvae.__all__`` and in each subpackage's ``__all__`` is loaded
with Griffe -- the same parser the API reference is rendered with -- and its
Google-style docstring must:

1. exist and cite a docs page (``docs/<page>.md``), so a reader can find the
   formula or protocol it implements;
2. for functions: document every parameter of the signature under ``Args:``
   (none that is not in the signature) and have a ``Returns:``/``Yields:``
   section.  The rule is unconditional: a function that plots or writes still
   returns something (a figure, a path) or must say ``Returns: None``;
3. for classes (NamedTuples, dataclasses, exceptions): document every field or
   ``__init__`` parameter under ``Args:`` or ``Attributes:``;
4. for constants: have a docstring (the string literal after the assignment).

Parsing the sections with Griffe means a parameter only counts when the site
would render it in the parameter table, so the rule cannot be met by merely
mentioning a name in prose.

The audit is not finished: ``KNOWN_GAPS`` lists the names of ``linvae.theory``, ``model``, ``data``, ``factors``
and ``plot`` (and their top-level aliases) still failing it.  It is a ratchet: a new public name must pass, and a
listed name that passes must be taken off the list.
"""

import griffe
import pytest

SUBPACKAGES = ("model", "theory", "data", "results", "analysis", "train", "factors", "plot")


@pytest.fixture(scope="module")
def package():
    return griffe.load("linvae", resolve_aliases=True, docstring_parser="google")


def _sections(obj):
    if obj.docstring is None:
        return {}
    out = {}
    for section in obj.docstring.parse("google"):
        out.setdefault(section.kind.value, []).append(section)
    return out


def _documented_names(sections, *kinds):
    return {item.name for kind in kinds for s in sections.get(kind, ()) for item in s.value}


def _signature_names(obj):
    return [p.name for p in obj.parameters if p.name not in ("self", "cls")]


def _fields(cls):
    return [name for name, member in cls.members.items()
            if member.is_attribute and "instance-attribute" in member.labels and not name.startswith("_")]


def problems(obj):
    """The reasons ``obj``'s docstring fails the audit (empty when it passes)."""
    doc = obj.docstring.value if obj.docstring else ""
    if not doc.strip():
        return ["no docstring"]
    found = []
    if "docs/" not in doc:
        found.append("no docs/ cross-reference")
    sections = _sections(obj)
    if obj.is_function:
        documented = _documented_names(sections, "parameters", "other parameters")
        wanted = _signature_names(obj)
        documented = {n.lstrip("*") for n in documented}
        missing = [n for n in wanted if n not in documented]
        extra = sorted(documented - set(wanted))
        if missing:
            found.append("Args: missing " + ", ".join(missing))
        if extra:
            found.append("Args: not in signature " + ", ".join(extra))
        if not {"returns", "yields"} & sections.keys():
            found.append("no Returns:")
    elif obj.is_class:
        documented = _documented_names(sections, "parameters", "attributes", "other parameters")
        missing = [n for n in _fields(obj) if n not in documented]
        if missing:
            found.append("Args/Attributes: missing " + ", ".join(missing))
    return found


def _public(package):
    for modname in ("",) + SUBPACKAGES:
        module = package[modname] if modname else package
        for name in module.exports or ():
            yield f"linvae.{modname + '.' if modname else ''}{name}", module[name].final_target


KNOWN_GAPS = frozenset({
    "linvae.Spectrum",
    "linvae.Table",
    "linvae.choose_beta",
    "linvae.data.BIOCLIM",
    "linvae.data.BlockSplit",
    "linvae.data.BlockSplitConfig",
    "linvae.data.Spectrum",
    "linvae.data.Split",
    "linvae.data.Table",
    "linvae.data.check_table",
    "linvae.data.default_spectrum",
    "linvae.data.default_table",
    "linvae.data.feature_scale",
    "linvae.data.find_layers",
    "linvae.data.load_table",
    "linvae.data.load_worldclim",
    "linvae.data.moments",
    "linvae.data.pca_spectrum",
    "linvae.data.random_split",
    "linvae.data.spatial_block_split",
    "linvae.data.spectrum_from_covariance",
    "linvae.data.spectrum_from_eigenvalues",
    "linvae.data.split_from_labels",
    "linvae.data.standardized_spectrum",
    "linvae.data.synthetic_data",
    "linvae.data.worldclim_table",
    "linvae.default_table",
    "linvae.factors.FactorMetrics",
    "linvae.factors.FactorScan",
    "linvae.factors.beta_vae_encoder",
    "linvae.factors.discretise",
    "linvae.factors.factor_covariance",
    "linvae.factors.factor_experiment",
    "linvae.factors.factor_metrics",
    "linvae.factors.factor_scan",
    "linvae.factors.gaussian_mutual_information",
    "linvae.factors.histogram_mig",
    "linvae.factors.histogram_mutual_information",
    "linvae.factors.joint_mutual_information",
    "linvae.factors.lambda_beta_encoder",
    "linvae.factors.lambda_beta_weights",
    "linvae.factors.latent_factor_correlation",
    "linvae.factors.mig",
    "linvae.factors.sap",
    "linvae.load_table",
    "linvae.model.OBJECTIVE_KINDS",
    "linvae.model.Params",
    "linvae.model.WEIGHT_KINDS",
    "linvae.model.decode",
    "linvae.model.encode",
    "linvae.model.exact_loss",
    "linvae.model.exact_penalty",
    "linvae.model.exact_terms",
    "linvae.model.expected_loss",
    "linvae.model.init_params",
    "linvae.model.kl_per_latent",
    "linvae.model.lr_penalty",
    "linvae.model.objective_penalty",
    "linvae.model.sample_loss",
    "linvae.optimum",
    "linvae.pca_spectrum",
    "linvae.plot.plot_activity_criteria",
    "linvae.plot.plot_all",
    "linvae.plot.plot_diagnostics",
    "linvae.plot.plot_duality",
    "linvae.plot.plot_factor_experiment",
    "linvae.plot.plot_lr_latents",
    "linvae.plot.plot_order_parameters",
    "linvae.plot.plot_phase_diagram",
    "linvae.plot.plot_split_map",
    "linvae.plot.plot_theory",
    "linvae.plot.plot_truncation",
    "linvae.plot.rank_colors",
    "linvae.plot.save_figure",
    "linvae.plot.shown_ranks",
    "linvae.price_grid",
    "linvae.theory.BetaChoice",
    "linvae.theory.Branch",
    "linvae.theory.Coupling",
    "linvae.theory.Landau",
    "linvae.theory.MeanPath",
    "linvae.theory.MixedLatent",
    "linvae.theory.PhaseDiagram",
    "linvae.theory.beta_from_price",
    "linvae.theory.choose_beta",
    "linvae.theory.collapse_is_continuous",
    "linvae.theory.coupling",
    "linvae.theory.critical_betas",
    "linvae.theory.follows_beta_law",
    "linvae.theory.information_price",
    "linvae.theory.landau",
    "linvae.theory.local_price",
    "linvae.theory.lr_mixed_latent",
    "linvae.theory.mean_path",
    "linvae.theory.mode_loss",
    "linvae.theory.mode_signal",
    "linvae.theory.mode_threshold",
    "linvae.theory.optimum",
    "linvae.theory.phase_diagram",
    "linvae.theory.price_grid",
    "linvae.theory.reduced_loss",
    "linvae.theory.reduced_min_loss",
    "linvae.theory.sampled_path_utility",
    "linvae.theory.signal_onsets",
    "linvae.theory.stationary_weights",
    "linvae.theory.thresholds",
    "linvae.thresholds",
    "linvae.worldclim_table",
})


def test_every_public_docstring_is_complete(package):
    offenders = {name: problems(obj) for name, obj in _public(package)}
    offenders = {name: why for name, why in offenders.items() if why and name not in KNOWN_GAPS}
    listing = "\n".join(f"  {name}: {'; '.join(why)}" for name, why in sorted(offenders.items()))
    assert not offenders, f"{len(offenders)} public names with incomplete docstrings:\n{listing}"


def test_known_gaps_are_current(package):
    fixed = sorted(name for name, obj in _public(package) if name in KNOWN_GAPS and not problems(obj))
    assert not fixed, "these names now pass the audit; remove them from KNOWN_GAPS: " + ", ".join(fixed)


def test_audit_catches_gaps(package):
    """The audit itself can fail: a docstring without Args/Returns/docs link is flagged."""
    fake = griffe.Function("f", parameters=griffe.Parameters(griffe.Parameter("x")),
                           docstring=griffe.Docstring("Do something."))
    assert problems(fake) == ["no docs/ cross-reference", "Args: missing x", "no Returns:"]
