"""全国地方公共団体コード (JIS X 0402 with the check digit of 総務省)."""

WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(first_five: str) -> int:
    """The sixth digit: 11 minus the weighted sum modulo 11, keeping the ones digit."""
    total = sum(int(d) * w for d, w in zip(first_five, WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def is_valid_code(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and check_digit(code[:5]) == int(code[5])
