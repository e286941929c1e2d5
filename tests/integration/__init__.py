"""Tests that start processes of their own: a training job killed mid-run, every console command,
the Snakefile parsed against each rule's conda environment. Slower than the unit tests, kept apart."""
