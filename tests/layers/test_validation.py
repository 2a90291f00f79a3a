"""``check_int``: the one integer-argument check (positive by default, any minimum), naming the argument."""
import pytest

from condconv_det.layers.validation import check_int


def test_accepts_ints_at_or_above_the_minimum():
    assert check_int('interval', 1) == 1
    assert check_int('num_experts', 0, minimum=0) == 0


@pytest.mark.parametrize('value', [0, -3, 2.0, True, '4', None])
def test_rejects_what_is_not_a_positive_int(value):
    with pytest.raises(ValueError, match=f'interval must be a positive int, got interval={value!r}'):
        check_int('interval', value)


def test_message_gives_the_minimum_and_the_note():
    with pytest.raises(ValueError, match=r'num_experts must be an int >= 0 \(0 = static head\), got num_experts=-1'):
        check_int('num_experts', -1, minimum=0, note=' (0 = static head)')
