"""hive-resilience: load and chaos tests for Hive."""


def discover(discover_system: bool = True) -> dict:
    """Chaos Toolkit's entry point: ``chaos discover`` takes a distribution name
    (``hive-resilience``) and looks for ``discover`` in its top-level package; the extension
    itself is :func:`hive_resilience.chaos.discover`, imported only here so that load and target
    code never needs chaoslib. Returns its discovery document."""
    from hive_resilience.chaos import discover as discover_chaos_extension

    return discover_chaos_extension(discover_system)
