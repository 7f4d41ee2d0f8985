"""Each preprocessing step on small synthetic images: modes, alpha, polarity, EXIF, ground, centring, errors."""

import io

import hypothesis
import hypothesis.extra.numpy
import hypothesis.strategies
import numpy as np
import PIL.Image
import PIL.ImageDraw
import PIL.ImageFilter
import pytest

from number_recognition.reading import decode
from number_recognition.reading import ink
from number_recognition.reading import normalize
from number_recognition.reading import recognition


def seven(size=(120, 160), width=9):
    """A black '7' drawn on a white RGB canvas of ``size`` (width, height)."""
    image = PIL.Image.new("RGB", size, "white")
    canvas_width, canvas_height = size
    points = [
        (0.3 * canvas_width, 0.25 * canvas_height),
        (0.7 * canvas_width, 0.25 * canvas_height),
        (0.45 * canvas_width, 0.8 * canvas_height),
    ]
    PIL.ImageDraw.Draw(image).line(points, fill="black", width=width, joint="curve")
    return image


def model_input(image, tmp_path, name="digit.png", **save_options):
    path = tmp_path / name
    image.save(path, **save_options)
    inputs, boxes = recognition.prepare(str(path))
    assert inputs.shape == (1, 28, 28), f"expected one digit, found {len(inputs)}"
    return inputs[0]


def assert_same_input(actual, expected, tolerance=0.03):
    assert np.abs(actual - expected).mean() < tolerance


@pytest.fixture
def reference(tmp_path):
    return model_input(seven(), tmp_path, "reference.png")


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGB", "RGBA", "I;16", "I", "1", "CMYK"])
def test_every_image_mode_gives_the_same_input(mode, reference, tmp_path):
    image = seven()
    if mode == "I;16":
        converted = PIL.Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257)
    elif mode == "I":
        converted = image.convert("L").convert("I")
    else:
        converted = image.convert(mode)
    name = "digit.tiff" if mode in ("CMYK", "I") else "digit.png"
    assert_same_input(model_input(converted, tmp_path, name), reference, tolerance=0.05 if mode == "1" else 0.03)


def test_white_ink_on_black_gives_the_same_input(reference, tmp_path):
    inverted = PIL.Image.eval(seven(), lambda value: 255 - value)
    assert_same_input(model_input(inverted, tmp_path), reference)


@pytest.mark.parametrize(
    "hidden_colour, stroke_colour",
    [((0, 0, 0), (0, 0, 0)), ((255, 255, 255), (0, 0, 0)), ((0, 0, 0), (255, 255, 255)), ((0, 0, 0), (30, 60, 200))],
)
def test_strokes_kept_only_in_the_alpha_channel_survive(hidden_colour, stroke_colour, reference, tmp_path):
    alpha = PIL.Image.eval(seven().convert("L"), lambda value: 255 - value)
    image = PIL.Image.new("RGBA", alpha.size, hidden_colour + (0,))
    image.paste(PIL.Image.new("RGBA", alpha.size, stroke_colour + (255,)), mask=alpha)
    assert_same_input(model_input(image, tmp_path), reference)


@pytest.mark.parametrize("orientation, stored_rotation", [(6, 90), (8, 270), (3, 180)])
def test_exif_orientation_is_applied(orientation, stored_rotation, reference, tmp_path):
    stored = seven().rotate(stored_rotation, expand=True)
    exif = PIL.Image.Exif()
    exif[0x0112] = orientation
    assert_same_input(model_input(stored, tmp_path, "photo.jpg", exif=exif, quality=95), reference, tolerance=0.04)


def test_uneven_lighting_and_grid_paper_do_not_join_the_digit(reference, tmp_path):
    image = np.asarray(seven((480, 640), width=30).convert("L"), dtype=np.float32)
    columns = np.linspace(0.55, 1.0, image.shape[1])[None, :]
    paper = np.full_like(image, 235) * columns
    paper[::40, :] -= 45
    paper[:, ::40] -= 45
    photo = np.where(image < 128, 40 * columns, paper)
    result = model_input(PIL.Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)), tmp_path)
    assert_same_input(result, reference, tolerance=0.05)


def test_an_mnist_style_digit_passes_through_unchanged():
    digit = np.zeros((28, 28), np.float32)
    digit[4:24, 12:16] = 1.0
    digit[4:8, 8:20] = 1.0
    rows, columns = np.nonzero(digit)
    assert (rows.mean(), columns.mean()) != (14, 14)
    expected = normalize.center_in_frame(digit[4:24, 8:20])
    inputs, _ = recognition.prepare(digit)
    np.testing.assert_allclose(inputs[0], expected, atol=1e-4)


def test_centre_of_mass_lands_at_pixel_14_and_the_digit_fits():
    digit = np.zeros((20, 9), np.float32)
    digit[:, 6:9] = 1.0
    digit[0:3, :] = 1.0
    frame = normalize.center_in_frame(digit)
    rows, columns = np.indices(frame.shape)
    total = frame.sum()
    assert total == pytest.approx(digit.sum())
    assert abs((rows * frame).sum() / total - 14) <= 0.5 and abs((columns * frame).sum() / total - 14) <= 0.5


@pytest.mark.parametrize("size", [(60, 200), (900, 300), (40, 40)])
def test_longer_side_is_scaled_to_20_pixels(size):
    ink = np.zeros(size, np.float32)
    ink[5:-5, 5:-5] = 1.0
    ink[10:-10, 10:-10] = 0.0
    digit = normalize.normalize_digit(ink)
    rows, columns = np.nonzero(digit > 0.05)
    assert max(rows.max() - rows.min() + 1, columns.max() - columns.min() + 1) in (20, 21)


def test_thin_strokes_are_thickened_and_fat_ones_thinned():
    thin = np.zeros((400, 400), np.float32)
    thin[20:380, 198:202] = 1.0
    thin[20:24, 100:300] = 1.0
    thickened = normalize.even_out_strokes(thin, thin > 0.5)
    assert normalize.stroke_width(thickened > 0.5) > 2 * normalize.stroke_width(thin > 0.5)
    fat = np.zeros((100, 100), np.float32)
    fat[10:90, 20:60] = 1.0
    thinned = normalize.even_out_strokes(fat, fat > 0.5)
    assert normalize.stroke_width(thinned > 0.5) < normalize.stroke_width(fat > 0.5)
    normal = np.zeros((100, 100), np.float32)
    normal[10:90, 45:58] = 1.0
    np.testing.assert_array_equal(normalize.even_out_strokes(normal, normal > 0.5), normal)


def leaning_stroke(lean):
    """A 28x28 input of a 3-pixel stroke from row 4 to row 23 whose column moves ``lean`` pixels per row down."""
    digit = np.zeros((28, 28), np.float32)
    for row in range(4, 24):
        left = int(round(14 + lean * (row - 14)))
        digit[row, left - 1 : left + 2] = 1.0
    return digit


def test_slant_is_the_second_moments_ratio():
    digit = leaning_stroke(-0.5)
    # mu11 / mu02 summed pixel by pixel, the way OpenCV's moments define them.
    pixels = [(row, column, digit[row, column]) for row in range(28) for column in range(28) if digit[row, column]]
    total = sum(value for _, _, value in pixels)
    row_mean = sum(row * value for row, _, value in pixels) / total
    column_mean = sum(column * value for _, column, value in pixels) / total
    mu11 = sum((row - row_mean) * (column - column_mean) * value for row, column, value in pixels)
    mu02 = sum((row - row_mean) ** 2 * value for row, _, value in pixels)
    assert normalize.slant(digit) == pytest.approx(mu11 / mu02, rel=1e-6)
    assert normalize.slant(digit) == pytest.approx(-0.5, abs=0.02)


@pytest.mark.parametrize("lean", [-0.6, -0.4, 0.4, 0.6])
def test_a_leaning_stroke_is_stood_upright_and_framed_like_mnist(lean):
    upright = normalize.deslanted(leaning_stroke(lean))
    assert abs(normalize.slant(upright)) < 0.05
    rows, columns = np.nonzero(upright > 0.5)
    assert rows.max() - rows.min() + 1 in (20, 21) and columns.max() - columns.min() + 1 <= 5
    total = upright.sum()
    row_centre = (np.arange(28) * upright.sum(axis=1)).sum() / total
    column_centre = (np.arange(28) * upright.sum(axis=0)).sum() / total
    # Whole-pixel placement puts the centre of mass within half a pixel of (14, 14).
    assert abs(row_centre - 14) <= 0.51 and abs(column_centre - 14) <= 0.51


def test_an_upright_digit_and_a_flat_dash_are_left_as_they_are():
    upright = leaning_stroke(0.0)
    assert normalize.deslanted(upright) is upright
    dash = np.zeros((28, 28), np.float32)
    dash[13:15, 4:24] = 1.0
    dash[12, 4:8] = 1.0  # lying nearly flat: a slant far past MAX_SLANT
    assert normalize.deslanted(dash) is dash


def test_otsu_separates_two_modes():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.2, 0.03, 5000), rng.normal(0.8, 0.03, 1000)]).clip(0, 1)
    assert 0.3 < ink.otsu_threshold(values) < 0.7


def test_polarity_and_ground_level():
    dark_on_light = np.full((50, 50), 0.9, np.float32)
    dark_on_light[20:30, 20:23] = 0.1
    assert ink.ground_level(ink.border(dark_on_light)) == pytest.approx(0.9)
    assert ink.ink_is_dark(dark_on_light, 0.9)
    assert not ink.ink_is_dark(1.0 - dark_on_light, 0.1)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"plain text, not pixels", "not an image this program reads"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(tmp_path, content, message):
    path = tmp_path / "input.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(decode.ImageError, match=message):
        decode.open_image(str(path))


def test_a_truncated_png_is_refused(tmp_path):
    buffer = io.BytesIO()
    seven((400, 400)).save(buffer, "PNG")
    path = tmp_path / "truncated.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(decode.ImageError, match="damaged or truncated"):
        decode.open_image(str(path))


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    PIL.Image.new("1", (12_000, 5_000)).save(path)
    assert path.stat().st_size < 100_000

    def decoding(*arguments, **keywords):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", decoding)
    with pytest.raises(decode.ImageError, match="more than 50 megapixels.*12000x5000"):
        decode.open_image(str(path))


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((0, 5)), "empty"),
        (np.zeros(10), "expected an image"),
        (np.zeros((4, 4, 7)), "expected an image"),
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.array([["a"]]), "numeric"),
    ],
)
def test_arrays_that_are_no_image_are_refused(array, message):
    with pytest.raises(decode.ImageError, match=message):
        recognition.prepare(array)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    hypothesis.extra.numpy.arrays(
        dtype=hypothesis.strategies.sampled_from(
            [np.uint8, np.uint16, np.int32, np.int64, np.float32, np.float64, np.bool_]
        ),
        shape=hypothesis.extra.numpy.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=40),
    )
)
def test_any_array_gives_valid_inputs_or_a_clear_error(array):
    try:
        inputs, boxes = recognition.prepare(array)
    except decode.ImageError as error:
        assert str(error)
        return
    assert inputs.dtype == np.float32 and inputs.shape[1:] == (28, 28) and len(inputs) == len(boxes)
    assert np.all(np.isfinite(inputs)) and np.all((inputs >= 0.0) & (inputs <= 1.0))


def test_otsu_matches_a_plain_histogram_search():
    values = np.random.default_rng(3).beta(0.5, 0.7, 4000)
    histogram, edges = np.histogram(values, bins=256, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    best, best_split = -1.0, None
    for split in range(1, 256):
        low, high = histogram[:split], histogram[split:]
        if low.sum() and high.sum():
            between = (
                low.sum()
                * high.sum()
                * (np.average(centres[:split], weights=low) - np.average(centres[split:], weights=high)) ** 2
            )
            if between > best:
                best, best_split = between, split
    assert ink.otsu_threshold(values) == pytest.approx(edges[best_split])


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_a_coloured_picture_gives_the_same_grey_from_a_file_and_from_an_array(mode, tmp_path):
    rng = np.random.default_rng(7)
    channels = len(mode)
    pixels = rng.integers(0, 256, (24, 32, channels), dtype=np.uint8)
    if mode == "RGBA":
        pixels[..., 3] = np.where(rng.random((24, 32)) < 0.3, 0, 255)
    path = tmp_path / "colour.png"
    PIL.Image.fromarray(pixels, mode).save(path)
    from_file = decode.image_to_grey(decode.open_image(str(path)))
    from_array = decode.array_to_grey(pixels)
    np.testing.assert_allclose(from_file, from_array, atol=1e-6)
    # Pillow's own luma conversion agrees to its integer rounding.
    if mode == "RGB":
        pillow = np.asarray(PIL.Image.fromarray(pixels).convert("L"), dtype=np.float32) / 255
        np.testing.assert_allclose(from_array, pillow, atol=1 / 255 + 1e-6)


def test_a_palette_png_with_a_transparent_white_ground_keeps_its_dark_strokes(tmp_path):
    """Anti-aliased edge pixels lighter than mid-grey must not make the ground black."""
    image = PIL.Image.new("L", (60, 80), 255)
    draw = PIL.ImageDraw.Draw(image)
    draw.line([(15, 15), (45, 15), (25, 70)], fill=0, width=3)
    # A wide soft halo of light grey around the stroke, as anti-aliasing onto white leaves.
    halo = np.asarray(image.filter(PIL.ImageFilter.GaussianBlur(3)))
    grey = np.where(np.asarray(image) < 128, 0, np.where(halo < 250, 200, 255)).astype(np.uint8)
    palette = PIL.Image.fromarray(grey).convert("P")
    white_index = palette.getpixel((0, 0))
    path = tmp_path / "palette.png"
    palette.save(path, transparency=white_index)
    flattened = decode.image_to_grey(decode.open_image(str(path)))
    assert flattened[0, 0] == pytest.approx(1.0)
    assert flattened[15, 30] < 0.1
