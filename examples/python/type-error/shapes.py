def area(width: int, height: int) -> int:
    return width * height


def label(width: int, height: int) -> str:
    return area(width, height)
