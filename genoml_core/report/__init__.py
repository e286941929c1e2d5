"""One self-contained HTML report per run: opens offline, no external assets, no scripts.

:func:`render_report` reads the run's result files (named as the ``report`` rule's inputs) and
returns one HTML page: configuration and versions, QC (samples and SNPs removed per filter), the
split, the leaderboard, the final test metrics with confidence intervals, every evaluation plot,
the SHAP plots and top features (with the truth check on simulated data), the per-group table,
the ancestry principal components (PC1 vs PC2 of the fold whose PCs the final model used), the
Res-VAE/PCA/t-SNE section and the found RRFCN architecture when those stages ran, and a model card.
Images are embedded as base64 PNG; styles are inline.

Banners at the top: "too small to judge" (:func:`genoml_core.run_size.judge_run_size` on the
split and the test metrics) and the warnings the jobs raised (input key ``warnings``,
``results/warnings.json`` from :mod:`genoml_core.warnings_log`; the workflow's own first, the
libraries' folded away; each message cut at :data:`MAX_WARNING_CHARS`).

Privacy: the page holds aggregates only. It never lists sample ids, genotypes, per-person
predictions or per-person SHAP values (those stay in ``results/individual/``, individual-level
data not for sharing); plots of per-sample points
(the SHAP beeswarm, the ancestry PC scatter) carry no ids, and the SHAP dependence plots are per-genotype
box plots.

Optional sections, included when their files are among the inputs (the ``report`` rule lists
them when the stage runs: embed.enabled, or ``rrfcn`` among train.learners). A JSON file is shown
generically: a list of objects (or an object's ``table``, ``architectures`` or ``methods``, the
latter also as an object of objects) becomes a table, other top-level scalars a key/value list;
each PNG is embedded.

===================  ==========================================================================
input key            file (content)
===================  ==========================================================================
embed_summary        ``results/embed/summary.json``: Res-VAE / PCA / t-SNE scores (``methods``)
embed_plot_res_vae   ``results/embed/res_vae_scatter.png``: Res-VAE latent scatter
embed_plot_pca       ``results/embed/pca_scatter.png``: PCA scatter
embed_plot_tsne      ``results/embed/tsne_scatter.png``: t-SNE scatter
nas_architectures    ``results/nas/architectures.json``: the top RRFCN architectures found
nas_plot_winner      ``results/nas/winner.png``: diagram of the winning architecture
nas_plot_curve       ``results/nas/search_curve.png``: the search's reward curve
pca_pcs              ``results/individual/pca/{fold}/pcs.tsv``: ancestry PCs per person and role (see
                     :data:`PCA_INPUTS`, :func:`pca_report_fold`); drawn by
                     :func:`genoml_core.evaluation.plots.plot_ancestry_pcs` while the report is made
pca_summary          ``results/pca/{fold}/summary.json``: n_pcs, n_train, n_snps, approx,
                     eigenvalues, fold
pca_groups           the ``data.groups`` table: colours the PC scatter (optional)
===================  ==========================================================================

The model card says whether ancestry PCs were used: k PCs with ``pca_summary``, otherwise not
(``pca.n_pcs`` 0, or no genotypes).

Modules: :mod:`~genoml_core.report.render` (:func:`render_report`: reads the files, fills the
page's jinja2 template ``template.html``, package data; :func:`write_report`),
:mod:`~genoml_core.report.sections` (one function per section), :mod:`~genoml_core.report.card`
(the model card), :mod:`~genoml_core.report.tables` (cells, tables and images as the template
shows them) and :mod:`~genoml_core.report.inputs` (the input keys, :func:`collect_versions`).
"""

from ..layout import OPTIONAL_INPUTS, PCA_INPUTS, pca_report_fold
from .inputs import collect_versions
from .render import render_report, write_report

# also importable from here, as when the report was one module (not in __all__): the sections'
# limits and the template's file name
from .render import TEMPLATE_FILE as TEMPLATE_FILE
from .sections import MAX_WARNING_CHARS as MAX_WARNING_CHARS
from .sections import MAX_WARNINGS_SHOWN as MAX_WARNINGS_SHOWN
from .sections import PCA_EIGENVALUES_SHOWN as PCA_EIGENVALUES_SHOWN

__all__ = ["OPTIONAL_INPUTS", "PCA_INPUTS", "collect_versions", "pca_report_fold", "render_report", "write_report"]
