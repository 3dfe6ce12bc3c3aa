"""A tiny calculator: merge-ready."""


def add(a: int, b: int) -> int:
    return a + b


def classify(n: int) -> str:
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"
