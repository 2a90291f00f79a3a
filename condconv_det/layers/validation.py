"""The integer-argument check shared by layers, models and hooks (in `layers/`, the bottom of the package, which
imports no mmdet)."""


def check_int(name: str, value: object, minimum: int = 1, note: str = '') -> int:
    """Return ``value`` if it is an ``int`` (not a ``bool``) ``>= minimum``; otherwise raise a ``ValueError`` that
    names the argument, e.g. ``num_experts must be an int >= 0 (0 = static network), got num_experts=2.5``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        kind = 'a positive int' if minimum == 1 else f'an int >= {minimum}'
        raise ValueError(f'{name} must be {kind}{note}, got {name}={value!r}')
    return value
