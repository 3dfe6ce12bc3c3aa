import calc


def test_add():
    assert calc.add(2, 3) == 5


def test_classify():
    assert calc.classify(-1) == "negative"
    assert calc.classify(0) == "zero"
    assert calc.classify(7) == "positive"
