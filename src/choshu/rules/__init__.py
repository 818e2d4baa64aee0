"""Law as code: the collection rules of 地方税法, framework-free.

Pure functions over ``int`` yen, ``datetime.date`` and frozen dataclasses. No Django import
anywhere in this package (a test enforces it). Legal rates and amounts are dated parameters
in ``params/*.toml``, validated when loaded. See ``docs/rules.md`` for every rule, its article
and the choices made where the law summary (``law.md``) marks a point UNCONFIRMED.
"""
