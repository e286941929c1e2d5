"""Independent random sub-streams of the seed: ``np.random.default_rng([seed, STREAM, ...])``.

Each part of the simulation draws from its own stream, so adding draws to one part leaves the
others' draws (and files) unchanged.
"""

SNPS, PEOPLE, EFFECTS, PHENO, NEW, BLOCK = 1, 2, 3, 4, 5, 6
# the architecture's own draws (interaction pairs and effects): a separate stream, so the additive
# model's draws (and files) do not depend on it
ARCH = 7
