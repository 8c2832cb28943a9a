"""Experiments (level 8): sweeps over team designs × seeds, locally or on Ray."""

from llmteams_lab.experiments.sweep import sweep, variant

__all__ = ["sweep", "variant"]
