import shaky


def test_divide():
    assert shaky.divide(6, 3) == 2


def test_divide_wrong():
    assert shaky.divide(1, 2) == 1
