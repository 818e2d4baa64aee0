"""Fixtures of the 宛名 tests: the related records of issue 12 (``related_data``)."""

from choshu.taxpayers.tests.related_data import related_city

__all__ = ["related_city"]
