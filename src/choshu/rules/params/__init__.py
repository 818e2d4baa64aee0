"""Dated legal parameters (TOML data files); loaded and validated by ``choshu.rules.parameters``."""
