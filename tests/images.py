"""Real image bytes for tests: the app decodes and writes anew every photo it is sent, so fakes will not do."""

import io

from PIL import Image


def jpeg(colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (16, 12)) -> bytes:
    """A small JPEG of one colour."""
    output = io.BytesIO()
    Image.new("RGB", size, colour).save(output, "JPEG")
    return output.getvalue()
