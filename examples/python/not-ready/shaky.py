import os


def divide(a, b):
    return a / b


def never_tested(x):
    if x > 10:
        return "big"
    if x > 5:
        return "medium"
    return "small"


def also_untested(items):
    total = 0
    for item in items:
        total += item
    return total
