"""Models: the learners, their fits, the networks and their one training loop, and model files.

- :mod:`.registry`: every learner declared once (tasks, kind, feature set, builder, space, memory).
- :mod:`.learners`: the classical learners' builders and their fit / predict flow.
- :mod:`.genome_learner`, :mod:`.penalized`: the genome-wide penalized GLM (inner CV, CMSA).
- :mod:`.outofcore`: SGD linear learners streamed from the int8 store.
- :mod:`.nn`: the PyTorch networks (MLP, RFCN-ResNet, RFCN-DenseNet, RRFCN, TabM, Res-VAE).
- :mod:`.estimators`: scikit-learn-style wrappers around the networks.
- :mod:`.training`, :mod:`.loop`, :mod:`.checkpoint`: fitting the networks on one loop.
- :mod:`.nas`: the RRFCN architecture search.
- :mod:`.embed`: Res-VAE embeddings against PCA and t-SNE.
- :mod:`.persist`: model files without pickle.

Import the modules themselves (``from genoml_core.models import registry``); this package
re-exports nothing.
"""
