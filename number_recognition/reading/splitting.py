"""Digits that touch, lines across the paper and stray marks: what connected components alone get wrong.

``segmentation`` takes each connected piece of ink for a digit (or a part of one). Four things
break that, and this module undoes each:

* ``without_crossing_line``: a line struck or scribbled through a digit (straight, wavy, zigzag)
  becomes part of it. Running from side to side of the image, past the digit's strokes, it is
  removed where it runs alone in a nearly level band; the strokes crossing it stay.
* ``without_ruled_lines``: the dark lines of ruled or squared paper join every digit they cross
  into one piece. A paper line is thin, straight, and runs far past the digits, edge to edge; its
  pixels are removed, except where a stroke crosses it (ink right above and right below the line).
  A page's lines come as a family: a line that fades out in a photo's shadow, turns a little
  steeper, or has the number standing on it goes with the parallel lines found whole, or with four
  more like it (a page whose far side lies in a shadow).
* ``without_stray_marks``: a dot, dash or curl far from the number is no digit; stacked above a
  digit it would even be merged into it and shrink the digit in its crop. A mark much smaller than
  the digits and far from all of them is dropped, also from a piece it was merged into (and digits
  merged only through it are parted again). So is a strip along the frame drawn far thinner than the
  digits, or running far longer than they are tall: the paper's edge or a grid line cut off by the
  photo's frame.
* ``split_touching``: digits written quickly touch or overlap and arrive as one piece. A piece too
  wide for the model's reading of it (its width measured stood upright when it leans far, as a
  tilted digit does) is cut into the digits the model reads most surely.

How ``split_touching`` reads "46" drawn in a paint app so fast that the 4's bar runs into the 6
(touching_0024 of ``bench/real_images.py --seed 2026``, with the bundled convnet)::

    #     #    ##       1. The piece, 138 x 105 pixels, is 1.31 times as wide as tall; the model
    #  #  #   #            reads it as a 6 at 0.34, margin 0.09: too unsure to keep it whole.
    ########  ####      2. For every column, the cheapest path from top to bottom through it at
       #  #  #    #        mid-height, crossing as little ink as it can and moving at most one
       #  #   ####         column per row, so that it can slip between strokes that overlap. The
                           valleys of that cost, at least 0.06 of the height apart, are the cuts;
                           cuts leaving nearly the same ink on their left are one. Seven here,
       through the 4's arms, between 4 and 6, through the 6's loop. (A piece too wide to be one
       digit is also cut along straight lines leaning -0.4, 0 and 0.4 columns per row, which cut
       through strokes that cross where no path slips between them: each digit loses a little ink
       at its edge, and the model still reads it.)
    3. Every part between two cuts, the right one having all the ink of the left one on its left
       and more, narrow enough to be a digit, is a candidate, 36 of them, and all are read in one
       call of the model: parts 0-4 read "4" at 0.90, parts 4-8 "6" at 0.91, parts 0-6 "4" at
       0.93 (too wide for a 4), part 4-6 "1" at 0.91, part 6-8 "0" at 0.72, ...
    4. Each candidate scores twice its log-probability, plus a log-normal prior on its width for
       the digit read (MNIST's width-to-height ratio of each digit, for a writer whose own width is
       shared by the digits of a piece and estimated from the image's other digits), less a penalty
       when it is much shorter than the piece (a fragment), plus a bonus for each cut used, smaller
       the more ink the cut crosses. Dynamic programming over the cuts picks the best sequence:
       "4" + "6" beats the whole (0.34, a 6 far too wide), "4" + "0" (a 4 far too wide) and
       "4" + "1" + "0". Three or more digits in one piece are the same sum with more terms.

A piece the model reads surely as one digit, at a width that digit can have, is never cut, and
neither is one that is not pen strokes (a plot, a texture, a solid shape). A piece that could be one
digit is cut only when every part reads with a margin of at least ``SPLIT_MIN_MARGIN`` (at least
``SQUARE_SPLIT_MARGIN`` when it is nearly as narrow as a digit); a piece wider than any digit is
always cut, and its unsure parts are marked uncertain. Two cuts make a part only when they do not
cross where there is ink, so the parts chosen partition the piece's ink exactly: no pixel is lost or
read twice.
"""

import math

import numpy as np

from number_recognition import config
from number_recognition.reading import ink
from number_recognition.reading import normalize
from number_recognition.reading import segmentation

# Pieces at least this many times as wide as tall (stood upright when they lean, ``aspect``) may be
# digits that touch: 51 of the 52 pieces of touching digits of the bench (seed 2026) are. A lone 0, 2
# or 5 often is as wide, and is kept by the model's reading of it.
SPLIT_MIN_ASPECT = 1.1
# A piece leaning at least this much (columns per row: 24 degrees, as a tenth of MNIST's digits do)
# has its width measured stood upright: a lone digit turned 30 degrees has a box as wide as two
# touching digits. Touching digits lean as their writers do: from 0.3, three touching numbers of the
# bench (seeds 2026 and 7) leaning 0.31 to 0.39 read worse. From 0.45 none of ten sets read worse,
# and a 4 turned 30 degrees (leaning 0.87) was no longer cut into "12".
UPRIGHT_MIN_SLANT = 0.45
# A piece's slant is measured on its mask shrunk to at most this many pixels a side, the same way
# both ways, which keeps the slant: the moments of a digit hundreds of pixels tall cost milliseconds.
SLANT_PIXELS = 64
# Strokes of touching digits are between these fractions of the piece's height wide (MNIST's are
# 0.10 to 0.20 of a digit; a fine pen 0.04).
SPLIT_STROKE_RANGE = (0.03, 0.3)
# Pieces from this aspect up to SPLIT_MIN_ASPECT (two digits overlapping by a stroke or more, a "65"
# or a "15", but also many a lone 0, 2 or 4) are tried, as wider ones are, unless the model reads them
# with a margin of KEEP_MARGIN, but cut only when every part reads with a margin of at least
# SQUARE_SPLIT_MARGIN: a lone digit read unsurely is far likelier than two read surely. (Tried only
# below a margin of 0.3, a narrow "79" read as a 3 at 0.70 was never tried.)
SQUARE_MIN_ASPECT = 0.8
SQUARE_SPLIT_MARGIN = 0.8
# A piece that could still be one digit (at most MAX_PART_ASPECT times as wide as tall) is cut only
# when every digit it gives is read with at least this margin; otherwise it stays whole. A wider one
# is no digit whole: it is cut as best it reads, and its unsure parts are marked uncertain (their
# margin is below recognition.UNCERTAIN_MARGIN). Kept whole, "858388" was read "2?".
SPLIT_MIN_MARGIN = 0.45
# A piece read as one digit with at least this margin over the runner-up, at a width that digit can
# have, stays whole. With the bundled convnet, 108 of the real-image bench's 116 lone digits at least
# 0.8 times as wide as tall read above it, and 51 of 52 pieces of touching digits below.
KEEP_MARGIN = 0.75
# ... and "a width that digit can have" is within this many standard deviations of the digit's mean.
KEEP_WIDTH_DEVIATIONS = 2.0
# log(width / height) of MNIST's training digits per class, mean and standard deviation (pixels above
# half ink, measured once): a 1 is narrow and varies most, a 0 or a 2 is nearly square.
MEAN_LOG_ASPECT = np.array([-0.119, -1.007, -0.083, -0.262, -0.270, -0.086, -0.360, -0.294, -0.311, -0.433])
SD_LOG_ASPECT = np.array([0.218, 0.489, 0.242, 0.226, 0.229, 0.286, 0.229, 0.230, 0.237, 0.215])
# Writers differ in how wide they write; their own factor is estimated from the image's other digits
# when it has some, and is known to about this much (as a log) when it has none.
WRITER_SD = 0.3
# Digits the image's other pieces were read as count for the writer's width only when this sure.
WRITER_MARGIN = 0.5
# A part of a cut piece shorter than this fraction of the piece's height is a fragment of a digit
# more likely than a digit, and it pays for it with this standard deviation (on a log scale).
FULL_HEIGHT = 0.7
HEIGHT_SD = 0.2
# A cut path moving one column sideways per row pays this much, in pixels of ink crossed, so that
# paths through blank paper run straight.
SIDESTEP_COST = 0.1
# Candidate cuts cross at most this many stroke widths of ink (two crossing strokes, at an angle)...
MAX_CUT_STROKES = 4.0
# ... and cuts of one kind and slant stand at least this fraction of the piece's height apart: a 1
# written with a fine pen is a tenth of its height wide, and a cut is needed on either side of it
# (at 0.12, "318236" was read "38236").
MIN_CUT_GAP = 0.06
# A part is at most this many times as wide as the piece is tall (MNIST's widest 0.1% are 1.67).
MAX_PART_ASPECT = 1.7
# Straight cuts lean this many columns per row (positive: the bottom further right); only a piece too
# wide to be one digit is cut along them: in pieces that could be one, they cut 3 more of MNIST's
# 10,000 test digits into two sure digits and read no more touching numbers of the bench (seed 2026).
# With five slants (also -0.6 and 0.6) and no cuts merged as the same, the touching numbers read no
# better (31 of 50 against 32), with ten times the parts to read.
CUT_SLANTS = (-0.4, 0.0, 0.4)
# Two cuts whose ink on the left differs by less than this many squared stroke widths (a stroke's
# end) are one: the same gap, or the same crossing cut a little differently.
SAME_CUT_STROKES = 2.0
# The writer's width is tried at these offsets (as a log) from the image's estimate. A part's width is
# judged with MNIST's spread times PART_SD_SCALE: a cut leaves a stroke's end on the wrong side now
# and then, which MNIST's cleanly separated digits never have. Of the 250 touching numbers of the bench
# (seeds 2026, 7 and 41), 1.5 read 148 exactly, 2 read 153 and 2.5 to 3 read 153-154; as many of
# MNIST's test digits are split at 2 as at 1.5.
WRITER_STEPS = np.linspace(-0.45, 0.45, 7)
PART_SD_SCALE = 2.0
# Every cut used is evidence for itself, less for every stroke width of ink it crosses: digits touch
# at a point, a cut through a digit crosses whole strokes.
CUT_BONUS = 1.0
CUT_WEIGHT = 0.5
# The model's log-probabilities count this many times against the priors: the model saw the ink, the
# priors only its size. Weights from 1 to 8 were tried on the touching numbers of the bench (seed
# 2026); 2 read the most.
READING_WEIGHT = 2.0
# Log-probabilities below this are this: a part the model rules out completely is very unlikely, not
# impossible.
MIN_LOG_PROBABILITY = math.log(1e-6)
# A paper line runs from frame to frame (within LINE_EDGE of the width), at least LINE_MIN_LENGTH of the
# width long, with ink on at least LINE_MIN_SPAN of its length (the digits it crosses interrupt its thin
# part), and is at most LINE_MAX_THICKNESS of the image's height thick.
LINE_EDGE = 0.03
LINE_MIN_LENGTH = 0.1
LINE_MIN_SPAN = 0.4
LINE_MAX_THICKNESS = 0.03
# Thin ink covering more than this fraction of the image is noise or a texture, not paper lines. (At
# 0.1, a photo of a page ruled with thick lines every few digits' heights had no line removed.)
LINE_MAX_INK = 0.2
# Images narrower than this many pixels have no room for a paper line and digits beside each other.
LINE_MIN_PIXELS = 64
# Lines are searched at slopes up to this (a photo of a page turned 6 degrees), in bands this many
# pixels tall; a pixel of the band is the line's when its vertical run is at most the line's thickness
# plus this many pixels (a stroke crossing the line runs on above and below it).
LINE_MAX_SLOPE = 0.1
LINE_BIN = 6
LINE_RUN_SLACK = 2
# A line reaching the frame at one side only (it fades out in a shadow), up to LINE_PARALLEL steeper
# than LINE_MAX_SLOPE, or clear of ink less often than LINE_CLEAR, is a paper line when at least
# LINE_FAMILY other lines run parallel to it, their slopes within LINE_PARALLEL of its own, one of them
# reaching both sides at most LINE_MAX_SLOPE steep.
LINE_FAMILY = 2
LINE_PARALLEL = 0.025
# A family of this many parallel lines, none reaching both sides (a squared page whose far side lies in
# a shadow), is a page's lines too: no handwriting draws as many long, straight, thin parallel lines.
FADED_FAMILY = 4
# A line whose pixels are more than this fraction one found already is that line again.
LINE_NEW_FRACTION = 0.5
# Along at least this fraction of a paper line, the paper just above and below it is blank; along
# LINE_FAMILY_CLEAR of a line parallel to others, as where a number stands on its line.
LINE_CLEAR = 0.8
LINE_FAMILY_CLEAR = 0.5
# Hough peaks are maxima over this many slopes and bands either way; at most LINE_MAX_COUNT are tried
# per round, in at most LINE_ROUNDS rounds, and each line is fitted LINE_FITS times.
LINE_PEAK_RADIUS = 2
LINE_MAX_COUNT = 16
LINE_ROUNDS = 3
LINE_FITS = 3
# A stray mark is shorter than STRAY_HEIGHT of the tallest piece and at least STRAY_GAP of that height
# away from all taller ones: the digits of a number stand closer, and a digit's own pieces touch.
STRAY_HEIGHT = 0.5
STRAY_GAP = 0.8
# Ink filling more than this fraction of its box is a solid shape (an object in a photo), not pen
# strokes. A bar more than SOLID_MAX_ELONGATION times as long as wide must fill SOLID_BAR_FILL of it: a
# bold 1 fills its box too, but a pen's stroke wobbles and ends round (the bench's 1s fill at most 0.74).
SOLID_FILL = 0.6
SOLID_MAX_ELONGATION = 2.5
SOLID_BAR_FILL = 0.85
# Where solid shapes are this share of the tall pieces, the image is a photo of objects, not writing
# (a bold 8 of a number may be solid alone).
SOLID_SHARE = 0.5
# A piece at the image's edge drawn with strokes under this fraction of the other pieces' is a strip of
# the paper's edge or of a line cut by the frame (``without_frame_strips``); so is one more than
# STRIP_ELONGATION times as long as wide and STRIP_LENGTH times as long as the other pieces are tall.
SLIVER_PEN_FRACTION = 0.25
STRIP_ELONGATION = 10
STRIP_LENGTH = 2.0
# From this many lines found one way, the image is a ruled or squared page and they all go; fewer
# must each reach past the other ink at the frame's sides.
RULED_PAGE_LINES = 3
# Other ink counts, for how far a line must reach, when it is at least this fraction as tall as the
# tallest other piece.
LINE_OTHER_HEIGHT = 0.3
# A line must reach past all the other ink by this fraction of the image's width at the frame's sides,
# which the bar of a 7 or the base of a 2 drawn across a whole canvas does not.
LINE_OVERHANG = 0.01
# A line drawn across the whole image (a pen line struck or scribbled through a digit, a zigzag
# underline) runs to within this fraction of the width of both its sides, as no digit centred the
# way MNIST's are does: their 20-pixel box leaves 4 of the 28 columns on either side. None of MNIST's
# first 20,000 training digits goes on past that test.
CROSSING_EDGE = 0.11
# The line's ends are its ink in this fraction of the width at either side: inked in every column
# (a line is unbroken; the ragged edge of a blurred digit is not), and in a band at most
# CROSSING_MAX_BAND of the ink's height tall (the swing of a wavy or zigzag line, and its width).
CROSSING_END = 0.1
CROSSING_MAX_BAND = 0.25
# A line struck through writing runs nearly level, as the writing does: it climbs or falls at most
# this many rows per column (17 degrees). The long slanting stroke of a 4 sheared across the image does more.
CROSSING_MAX_SLOPE = 0.3
# The band joining the two ends holds ink in at least this fraction of the columns between them.
CROSSING_COVER = 0.9
# At its ends the line's columns of ink are at most this many times as tall as the digit's strokes
# are wide: a line struck across a digit is drawn no thicker than its strokes, but where the bar of a
# tightly cropped 4 meets its slanting stroke at the image's side, the ink is twice as tall.
CROSSING_MAX_THICKNESS = 1.5
# The line reaches past the rest of the ink by at least this fraction of the width at both sides:
# the bar of a tightly cropped 7 or 4 ends where another of its strokes does. (At half this, the bar
# of a few tightly cropped scans of the real-image sets went.)
CROSSING_OVERHANG = 0.1


def split_touching(strokes, pieces, inputs, predictor):
    """Cut pieces that hold touching digits into the digits the model reads most surely.

    ``strokes`` is the ink image the pieces were found in, ``inputs`` their 28x28 inputs. Returns
    new lists of pieces and inputs, left to right; pieces that are not cut keep their input. All the
    parts of all the pieces tried are read in one call of the predictor.
    """
    # Standing a piece upright (``aspect``) never widens it: a piece whose box is narrower than
    # SQUARE_MIN_ASPECT is never tried, as most are not.
    boxes = [piece.box.width / piece.box.height for piece in pieces]
    if max(boxes, default=0.0) < SQUARE_MIN_ASPECT:
        return pieces, inputs
    probabilities = predictor.predict(np.asarray(inputs, dtype=np.float32))
    # A nearly square piece is looked at closely only when the model hesitates over it: most are one
    # digit. Only the pieces that may be tried are stood upright.
    hesitant = {index for index, row in enumerate(probabilities) if margin(row) < KEEP_MARGIN}
    aspects = {
        index: aspect(pieces[index])
        for index, ratio in enumerate(boxes)
        if ratio >= SPLIT_MIN_ASPECT or (ratio >= SQUARE_MIN_ASPECT and index in hesitant)
    }
    wide = [index for index, ratio in aspects.items() if ratio >= SPLIT_MIN_ASPECT and is_handwriting(pieces[index])]
    square = [
        index
        for index, ratio in aspects.items()
        if SQUARE_MIN_ASPECT <= ratio < SPLIT_MIN_ASPECT and index in hesitant and is_handwriting(pieces[index])
    ]
    if not wide and not square:
        return pieces, inputs
    writer = writer_width(pieces, probabilities, wide)
    candidates = {
        index: Cuts(strokes, pieces[index], whole=not is_no_digit(aspects[index], probabilities[index]))
        for index in sorted(wide + square)
        if index in square or not reads_as_one_digit(aspects[index], probabilities[index], writer)
    }
    candidates = {index: cuts for index, cuts in candidates.items() if len(cuts.parts) > 1}
    if not candidates:
        return pieces, inputs
    readings = predictor.predict(np.concatenate([cuts.inputs for cuts in candidates.values()]))
    new_pieces, new_inputs, start = [], [], 0
    for index, (piece, image) in enumerate(zip(pieces, inputs)):
        cuts, chosen = candidates.get(index), None
        if cuts is not None:
            part_readings = readings[start : start + len(cuts.parts)]
            start += len(cuts.parts)
            chosen = cuts.best_parts(part_readings, writer)
            least = least_margin(aspects[index], probabilities[index])
            if chosen and min(margin(part_readings[cuts.parts.index(part)]) for part in chosen) < least:
                chosen = None
        if chosen is None:
            new_pieces.append(piece)
            new_inputs.append(image)
        else:
            new_pieces.extend(cuts.piece(part) for part in chosen)
            new_inputs.extend(cuts.inputs[cuts.parts.index(part)] for part in chosen)
    return new_pieces, new_inputs


def margin(probabilities):
    """How much more probable the most probable digit is than the runner-up."""
    second, first = np.sort(probabilities)[-2:]
    return float(first - second)


def is_handwriting(piece):
    """True for a piece wide enough to hold touching digits, drawn with strokes as thick as a pen's for its size.

    A plot's lines, a texture's grain, a solid shape or anything spanning the whole image from edge
    to edge (a number is written on something) is not cut: cut into narrow parts, they would be read
    as sure digits.
    """
    box = piece.box
    height, width = piece.members.shape
    if box.width < SQUARE_MIN_ASPECT * box.height or box.width == width or box.height == height:
        return False
    members = piece.members[box.top : box.bottom, box.left : box.right]
    low, high = SPLIT_STROKE_RANGE
    return low <= normalize.stroke_width(members) / box.height <= high and not is_solid(piece)


def writer_width(pieces, probabilities, wide):
    """How much wider (as a log) than MNIST's the image's digits are written, from its narrow pieces read surely."""
    offsets = []
    for index, (piece, row) in enumerate(zip(pieces, probabilities)):
        if index not in wide and margin(row) >= WRITER_MARGIN:
            offsets.append(math.log(piece.box.width / piece.box.height) - MEAN_LOG_ASPECT[int(np.argmax(row))])
    return float(ink.median(np.array(offsets))) if offsets else 0.0


def width_deviations(aspects, writer):
    """How far, in standard deviations, parts ``aspects`` times as wide as tall are from each digit's width."""
    spread = np.sqrt(SD_LOG_ASPECT**2 + WRITER_SD**2)
    return (np.log(np.asarray(aspects, dtype=np.float64))[..., None] - MEAN_LOG_ASPECT - writer) / spread


def reads_as_one_digit(ratio, probabilities, writer):
    """True when the model reads a piece ``ratio`` times as wide as tall (``aspect``) surely as one digit that wide."""
    deviations = width_deviations(ratio, writer)[int(np.argmax(probabilities))]
    return margin(probabilities) >= KEEP_MARGIN and deviations <= KEEP_WIDTH_DEVIATIONS


def aspect(piece):
    """How many times as wide as tall the piece is, stood upright when it leans ``UPRIGHT_MIN_SLANT`` or more.

    Standing it upright moves each row of ink sideways by the piece's slant (``normalize.slant``)
    times the row, as ``normalize.deslanted`` does a digit's input. A lone digit turned 30 degrees
    narrows to a digit's width; two touching digits, side by side, stay two digits wide::

        . . . # #        . . . # #     a 1 leaning -1 column per row: 5 columns wide as it
        . . # # .   ->   . . . # #     is, 2 stood upright
        . # # . .        . . . # #
        # # . . .        . . . # #

    The narrower of the two widths counts: a piece leaning in one part only can come out wider.
    """
    box = piece.box
    boxed = box.width / box.height
    members = piece.members[box.top : box.bottom, box.left : box.right]
    step = math.ceil(max(members.shape) / SLANT_PIXELS)
    lean = normalize.slant(members[::step, ::step].astype(np.float32))
    if abs(lean) < UPRIGHT_MIN_SLANT:
        return boxed
    # The first and last ink column of each inked row, moved by the slant.
    inked = np.flatnonzero(members.any(axis=1))
    rows = members[inked]
    shift = lean * inked
    lefts = rows.argmax(axis=1) - shift
    rights = box.width - 1 - rows[:, ::-1].argmax(axis=1) - shift
    return min(boxed, (rights.max() - lefts.min() + 1) / box.height)


def is_no_digit(ratio, probabilities):
    """True for a piece ``ratio`` times as wide as tall: too wide for any one digit, and not read surely as one."""
    return ratio > MAX_PART_ASPECT and margin(probabilities) < KEEP_MARGIN


def least_margin(ratio, probabilities):
    """The margin every digit a piece ``ratio`` times as wide as tall is cut into must be read with, or it stays whole.

    A piece that is no one digit is cut however unsurely its parts read (they are marked uncertain);
    a piece nearly as narrow as a digit only when they all read surely.
    """
    if is_no_digit(ratio, probabilities):
        return 0.0
    return SPLIT_MIN_MARGIN if ratio >= SPLIT_MIN_ASPECT else SQUARE_SPLIT_MARGIN


class Cuts:
    """The candidate cuts of one piece and the 28x28 input of every part they make that could be a digit.

    ``boundaries`` holds one column per row of the piece's box for each cut, the box's left edge first
    and its right edge last, ordered by how much ink lies left of them. Part ``(i, j)``, the ink between
    boundaries i and j, is one of ``parts`` when boundary j has all the ink of boundary i on its left and
    more (cuts that cross each other where there is ink make no part together), and the part is narrow
    enough to be a digit. The whole piece is one too, unless ``whole`` is False: a piece that is no one
    digit is read only as two or more, and is also cut along straight lines (``cut_boundaries``). Any
    chain of parts from the left edge to the right one partitions the piece's ink.
    """

    def __init__(self, strokes, piece, whole=True):
        box = piece.box
        self.box, self.image_shape = box, piece.members.shape
        self.members = piece.members[box.top : box.bottom, box.left : box.right]
        self.boundaries, self.crossings = cut_boundaries(self.members, straight=not whole)
        crop = strokes[box.top : box.bottom, box.left : box.right]
        last = len(self.boundaries) - 1
        self.lefts = [ink_left_of(self.members, cut) for cut in self.boundaries]
        self.parts, self.boxes, inputs = [], [], []
        # The whole piece is one of the parts, so that no cut is an option, unless told it is no digit.
        for first in range(last):
            for end in range(first + 1, last + 1):
                whole_piece = (first, end) == (0, last)
                if (whole_piece and not whole) or not self.follows(first, end):
                    continue
                mask = self.mask((first, end))
                part_box = segmentation.bounding_box(mask)
                if part_box.width > MAX_PART_ASPECT * box.height and not whole_piece:
                    continue
                self.parts.append((first, end))
                self.boxes.append(part_box)
                inputs.append(normalize.normalize_digit(crop, part_box, mask))
        size = config.IMAGE_SIZE
        self.inputs = np.array(inputs, dtype=np.float32).reshape(len(inputs), size, size)

    def follows(self, first, end):
        """True when boundary ``end`` has all the ink boundary ``first`` has on its left, and more."""
        return not (self.lefts[first] & ~self.lefts[end]).any()

    def mask(self, part):
        """The piece's ink between boundaries ``part`` = (i, j), in the box's coordinates."""
        return self.lefts[part[1]] & ~self.lefts[part[0]]

    def best_parts(self, probabilities, writer):
        """The parts the piece is best read as, left to right; None when that is the whole piece.

        ``probabilities`` holds the model's reading of each of ``parts``; ``writer`` is the image's
        estimate of how wide its writer writes. All digits of one piece share the writer's width: each
        width in ``WRITER_STEPS`` around the estimate is tried and pays for its distance from it.
        """
        sizes = np.array([[part_box.width, part_box.height] for part_box in self.boxes], dtype=np.float64)
        logs = READING_WEIGHT * np.maximum(np.log(np.maximum(probabilities, 1e-30)), MIN_LOG_PROBABILITY)
        heights = np.minimum(sizes[:, 1] / (FULL_HEIGHT * self.box.height), 1.0)
        fixed = -0.5 * (np.log(heights) / HEIGHT_SD) ** 2
        evidence = CUT_BONUS - CUT_WEIGHT * self.crossings
        last = len(self.boundaries) - 1
        evidence[last] = 0.0
        order = sorted(range(len(self.parts)), key=lambda index: self.parts[index][1])
        best_total, best_parts = -np.inf, None
        for step in WRITER_STEPS:
            deviations = (np.log(sizes[:, 0] / sizes[:, 1])[:, None] - MEAN_LOG_ASPECT - writer - step) / (
                PART_SD_SCALE * SD_LOG_ASPECT
            )
            scores = (logs - 0.5 * deviations**2).max(axis=1) + fixed
            # best[j]: the best score of the ink left of boundary j read as digits, and the parts giving it.
            best = {0: (-0.5 * (step / WRITER_SD) ** 2, [])}
            for index in order:
                first, end = self.parts[index]
                if first in best:
                    option = (best[first][0] + scores[index] + evidence[end], best[first][1] + [(first, end)])
                    if end not in best or option[0] > best[end][0]:
                        best[end] = option
            if last in best and best[last][0] > best_total:
                best_total, best_parts = best[last]
        if best_parts is None or len(best_parts) == 1:
            return None
        return best_parts

    def piece(self, part):
        """Part ``(i, j)`` as a ``Piece`` of the whole image."""
        part_box = self.boxes[self.parts.index(part)]
        members = np.zeros(self.image_shape, dtype=bool)
        members[self.box.top : self.box.bottom, self.box.left : self.box.right] = self.mask(part)
        left, top = self.box.left, self.box.top
        return segmentation.Piece(
            segmentation.Box(left + part_box.left, top + part_box.top, left + part_box.right, top + part_box.bottom),
            members,
        )


def cut_boundaries(members, straight=True):
    """The cuts of a piece's mask (its box), as boundaries: one column per row, left edge and right edge included.

    Two kinds of cut: paths and, when ``straight``, straight lines. Every column at mid-height is
    crossed by the cheapest top-to-bottom path through it (ink pixels cost 1, a sidestep
    ``SIDESTEP_COST``), which slips between strokes that overlap; and by a straight line at each slant
    of ``CUT_SLANTS``, which cuts through strokes that cross (each digit loses a little ink at its
    edge). The valleys of the ink each kind crosses along the row are the cuts, at most
    ``MAX_CUT_STROKES`` stroke widths of ink and, per kind and slant, ``MIN_CUT_GAP`` of the height
    apart. Cuts that leave nearly the same ink on their left are one (``SAME_CUT_STROKES``); they are
    ordered by how much ink that is. Returns the boundaries and the stroke widths of ink each crosses.
    """
    height, width = members.shape
    stroke = normalize.stroke_width(members)
    limit = MAX_CUT_STROKES * stroke
    cuts = path_cuts(members, limit) + (line_cuts(members, limit) if straight else [])
    rows = np.arange(height)
    total = np.count_nonzero(members)
    # The cheapest cuts first; a cut leaving nearly the same ink on its left as one kept (less than
    # SAME_CUT_STROKES squared stroke widths apart: the same gap, or the same crossing cut a little
    # differently) is that cut again.
    crossings = [np.count_nonzero(members[rows, np.minimum(cut, width - 1)] & (cut < width)) for cut in cuts]
    same = SAME_CUT_STROKES * stroke**2
    kept = []
    for index in np.argsort(crossings, kind="stable"):
        left = ink_left_of(members, cuts[index])
        count = np.count_nonzero(left)
        if 0 < count < total and all(np.count_nonzero(left ^ other) >= same for _, other, _, _ in kept):
            kept.append((count, left, cuts[index], crossings[index]))
    kept.sort(key=lambda item: item[0])
    inner = [cut for _, _, cut, _ in kept]
    boundaries = [np.zeros(height, np.int64)] + inner + [np.full(height, width, np.int64)]
    crossed = [0] + [crossing for _, _, _, crossing in kept] + [0]
    return boundaries, np.array(crossed, dtype=np.float64) / stroke


def ink_left_of(members, cut):
    """The pixels of ``members`` left of boundary ``cut`` (one column per row, that column excluded)."""
    return members & (np.arange(members.shape[1]) < cut[:, None])


def spaced_valleys(values, limit, gap):
    """The valleys of ``values`` at most ``limit``, cheapest first, each at least ``gap`` from those before."""
    chosen = []
    for column in sorted(valleys(values), key=lambda column: values[column]):
        if values[column] <= limit and all(abs(column - other) >= gap for other in chosen):
            chosen.append(column)
    return sorted(chosen)


def path_cuts(members, limit):
    """Cuts along the cheapest top-to-bottom paths through the piece's ink (``cut_boundaries``)."""
    height, width = members.shape
    # subtle: a free column on either side lets a path run down the box's edge.
    cost = np.zeros((height, width + 2), dtype=np.float32)
    cost[:, 1:-1] = members
    down, down_steps = cheapest_paths(cost)
    up, up_steps = cheapest_paths(cost[::-1])
    middle = height // 2
    through = down[middle] + up[height - 1 - middle] - cost[middle]
    chosen = spaced_valleys(through, limit, max(1.0, MIN_CUT_GAP * height))
    paths = np.zeros((height, len(chosen)), dtype=np.int64)
    paths[middle] = chosen
    for row in range(middle, 0, -1):
        paths[row - 1] = paths[row] + down_steps[row, paths[row]]
    for row in range(middle, height - 1):
        paths[row + 1] = paths[row] + up_steps[height - 1 - row, paths[row]]
    # Back to the box's columns: a path in the left pad cuts off nothing, one in the right pad everything.
    return list(np.clip(paths - 1, 0, width).T)


def line_cuts(members, limit):
    """Cuts along straight lines through the piece at each slant of ``CUT_SLANTS`` (``cut_boundaries``)."""
    height, width = members.shape
    rows = np.arange(height)
    cuts = []
    for slant in CUT_SLANTS:
        # Column of the line in each row, for a line through column 0 at mid-height.
        offsets = np.round(slant * (rows - height // 2)).astype(np.int64)
        columns = np.arange(width)[None, :] + offsets[:, None]
        inside = (columns >= 0) & (columns < width)
        crossed = (members[rows[:, None], np.clip(columns, 0, width - 1)] & inside).sum(axis=0)
        for column in spaced_valleys(crossed.astype(np.float64), limit, max(1.0, MIN_CUT_GAP * height)):
            cuts.append(np.clip(column + offsets, 0, width))
    return cuts


def cheapest_paths(cost):
    """The cost of the cheapest path from the top row to each pixel, moving down one row at a time.

    A path steps to one of the three pixels below (the diagonal ones cost ``SIDESTEP_COST`` more).
    Returns the totals and, per pixel, the column offset (-1, 0 or 1) of the pixel the path came from.
    """
    height, width = cost.shape
    totals = np.empty((height, width), dtype=np.float32)
    steps = np.zeros((height, width), dtype=np.int64)
    totals[0] = cost[0]
    # From the left and from the right neighbour; a path cannot come from beyond the box's edge.
    from_left = np.full(width, np.inf, dtype=np.float32)
    from_right = np.full(width, np.inf, dtype=np.float32)
    for row in range(1, height):
        previous = totals[row - 1]
        np.add(previous[:-1], SIDESTEP_COST, out=from_left[1:])
        np.add(previous[1:], SIDESTEP_COST, out=from_right[:-1])
        # subtle: ties go to the left, then straight down, as the first of (left, down, right) would.
        best = np.minimum(previous, from_right)
        steps[row] = from_right < previous
        left = from_left <= best
        steps[row, left] = -1
        np.add(np.where(left, from_left, best), cost[row], out=totals[row])
    return totals, steps


def valleys(values):
    """The local minima of a 1-D array: the middle of every run of equal values lower than both neighbours."""
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    ends = np.concatenate([starts[1:], [len(values)]])
    levels = values[starts]
    lower_than_left = np.concatenate([[False], levels[1:] < levels[:-1]])
    lower_than_right = np.concatenate([levels[:-1] < levels[1:], [False]])
    found = lower_than_left & lower_than_right
    return ((starts[found] + ends[found] - 1) // 2).tolist()


def without_ruled_lines(mask):
    """The mask without the lines of ruled or squared paper that cross it, or the mask itself when it has none.

    A paper line is a straight band of thin ink (at most ``LINE_MAX_THICKNESS`` of the image across)
    running from frame to frame and, at the frame's sides, reaching past all other ink. Only the line's
    own thin pixels go: where a stroke crosses it, the ink runs on above and below the line, and that
    column of ink is kept.
    """
    horizontal = line_bands(mask)
    rest = mask.copy()
    for band in horizontal:
        rest &= ~band
    # subtle: vertical lines are looked for without the horizontal ones, so where two paper lines
    # cross, the crossing is thin across the vertical line and goes with it.
    vertical = [band.T for band in line_bands(rest.T)]
    if not horizontal and not vertical:
        return mask
    for band in vertical:
        rest &= ~band
    # The other ink the lines must reach past: pieces tall enough to be part of a digit, not a speck,
    # a crumb of a line where a stroke crossed it, or a short line leaving the frame at a corner; and
    # not running from frame to frame themselves (the page's edge, a line not found).
    labels, count = segmentation.label_components(rest)
    others, _ = segmentation.component_boxes(labels, count)
    height, width = mask.shape
    across = ((others[:, 0] == 0) & (others[:, 2] == width)) | ((others[:, 1] == 0) & (others[:, 3] == height))
    others = others[~across]
    if len(others):
        tall = others[:, 3] - others[:, 1]
        others = others[tall >= LINE_OTHER_HEIGHT * tall.max()]
    lines = np.zeros(mask.shape, dtype=bool)
    for bands, axis in ((horizontal, 0), (vertical, 1)):
        # subtle: a ruled page's lines are many; no digit's stroke comes with others running frame
        # to frame beside it, so only a lone line or two must show they are no stroke.
        if len(bands) >= RULED_PAGE_LINES or len(others) == 0:
            for band in bands:
                lines |= band
            bands = []
        low, high = others[:, axis], others[:, axis + 2]
        for band in bands:
            covered = np.flatnonzero(band.any(axis=axis))
            length = mask.shape[1 - axis]
            overhang, edge = LINE_OVERHANG * length, LINE_EDGE * length
            # An end of the line at the frame's side must lie past the other ink; an end where the line
            # leaves through the top or bottom of the frame (a turned page's corner) need not.
            first_end = covered[0] <= low.min() - overhang or covered[0] > edge
            last_end = covered[-1] >= high.max() - 1 + overhang or covered[-1] < length - 1 - edge
            if first_end and last_end:
                lines |= band
    return mask & ~lines


def line_bands(mask):
    """The pixels of each nearly horizontal paper line of a mask, one boolean image per line."""
    height, width = mask.shape
    edge = max(1, int(LINE_EDGE * width))
    # A paper line leaves the frame on the left or the right; most images have no ink there at all.
    if width < LINE_MIN_PIXELS or not (mask[:, :edge].any() or mask[:, -edge:].any()):
        return []
    runs = vertical_runs(mask)
    thin = mask & (runs <= max(2.0, LINE_MAX_THICKNESS * height))
    rows, columns = np.nonzero(thin)
    threshold = LINE_MIN_SPAN * LINE_MIN_LENGTH * width
    # Paper lines are a small part of a page; thin ink all over is noise or a texture.
    if len(rows) < threshold or len(rows) > LINE_MAX_INK * height * width:
        return []
    slopes = np.arange(-LINE_MAX_SLOPE, LINE_MAX_SLOPE + 1e-9, LINE_BIN / width)
    # subtle: offsets are counted from the lowest any slope gives, so that each is a valid bin index.
    offsets = np.floor((rows[None, :] - slopes[:, None] * columns[None, :]) / LINE_BIN).astype(np.int64)
    offsets -= offsets.min()
    bins = int(offsets.max()) + 2
    bands, slopes, faded, taken = [], [], [], np.zeros(len(rows), dtype=bool)
    # The pixels of every line fitted so far, irregular ones too: the next round looks past them.
    seen = taken.copy()
    # Each round finds the strongest lines left; the ridge a long line leaves across neighbouring
    # slopes can hide a short one (a line leaving the frame at a corner) until the long one is taken.
    for _ in range(LINE_ROUNDS):
        found = len(bands) + len(faded)
        for slope_index, offset in hough_peaks(offsets[:, ~seen], bins, threshold):
            near = ~taken & ((offsets[slope_index] == offset) | (offsets[slope_index] == offset + 1))
            if np.count_nonzero(near) < threshold:
                continue
            fit = fitted_band(mask, runs, rows, columns, near)
            if fit is None:
                continue
            band, slope, regular = fit
            # Which of the thin pixels the band holds.
            on_line = band[rows, columns]
            # subtle: the pixels of a stroke crossing a line found already fit that line again, with
            # the stroke's thickness; most of such a band is the line's own pixels, taken.
            if np.mean(taken[on_line]) > LINE_NEW_FRACTION:
                continue
            if regular:
                taken |= on_line
                bands.append(band)
                slopes.append(slope)
            elif all(np.mean(other[on_line]) <= LINE_NEW_FRACTION for _, _, other in faded):
                # subtle: the peaks of one round along the ridge of an irregular line fit it again and
                # again; on a page whose lines all fade, those fits took the round's every peak.
                faded.append((band, slope, on_line))
            seen |= on_line
        if len(bands) + len(faded) == found:
            break
    # A line that fades out in a shadow before one side of the frame, turns a little more than
    # LINE_MAX_SLOPE, or has a number standing on it, is a paper line too when it runs parallel to others
    # that reach both sides, or to FADED_FAMILY others: a ruled page's lines come in a family (in a
    # photo, converging a little).
    irregular = []
    for band, slope, on_line in faded:
        if np.mean(taken[on_line]) <= LINE_NEW_FRACTION:
            taken |= on_line
            irregular.append((band, slope))
    family = slopes + [slope for _, slope in irregular]
    for band, slope in irregular:
        regular = sum(abs(slope - other) <= LINE_PARALLEL for other in slopes)
        # subtle: the line itself is in the family, once.
        parallel = sum(abs(slope - other) <= LINE_PARALLEL for other in family) - 1
        if parallel >= LINE_FAMILY and (regular >= 1 or parallel >= FADED_FAMILY):
            bands.append(band)
    return bands


def hough_peaks(offsets, bins, threshold):
    """The (slope, band) pairs holding the most pixels, strongest first: a coarse Hough transform.

    ``offsets`` holds, per slope, each thin pixel's band of ``LINE_BIN`` rows along lines of that
    slope. A band and the next together hold a line that straddles them. Peaks hold at least
    ``threshold`` pixels and are the largest counts of their neighbourhood (a line also counts, less,
    at the slopes and bands beside its own); at most ``LINE_MAX_COUNT`` are returned.
    """
    counts = np.zeros((len(offsets), bins), dtype=np.int64)
    for index, row in enumerate(offsets):
        counts[index] = np.bincount(row, minlength=bins)
    pairs = counts[:, :-1] + counts[:, 1:]
    size = 2 * LINE_PEAK_RADIUS + 1
    padded = np.pad(pairs, LINE_PEAK_RADIUS)
    neighbourhood = np.lib.stride_tricks.sliding_window_view(padded, (size, size)).max(axis=(2, 3))
    peaks = np.flatnonzero((pairs >= threshold) & (pairs == neighbourhood))
    peaks = peaks[np.argsort(pairs.ravel()[peaks])[::-1][:LINE_MAX_COUNT]]
    return list(zip(*np.unravel_index(peaks, pairs.shape)))


def fitted_band(mask, runs, rows, columns, near):
    """The thin pixels along the line through the ``near`` ones of ``rows``, ``columns``; None if no paper line.

    The line is fitted by least squares to the near pixels, then again to all the thin pixels close
    to that fit (``LINE_FITS`` times), so that a digit's thin stroke beside it does not tilt it and
    the whole line is found; its thickness is the median vertical run of its pixels. It must run
    at least ``LINE_MIN_LENGTH`` of the width, have ink on ``LINE_MIN_SPAN`` of its columns (digits
    it crosses interrupt it), and reach the frame (within ``LINE_EDGE``) at one side at least.
    Returns ``(band, slope, regular)``: ``regular`` when it runs from frame to frame at a slope of at
    most ``LINE_MAX_SLOPE`` on blank paper (``LINE_CLEAR``); an irregular line counts only in a family
    of regular ones (``line_bands``).
    """
    height, width = mask.shape
    thickness = float(ink.median(runs[rows[near], columns[near]]))
    close = near
    for _ in range(LINE_FITS):
        if np.count_nonzero(close) < 2 or np.ptp(columns[close]) == 0:
            return None
        slope, intercept = np.polyfit(columns[close], rows[close], 1)
        close = np.abs(rows - (slope * columns + intercept)) <= thickness + 1
    if abs(slope) > LINE_MAX_SLOPE + LINE_PARALLEL:
        return None
    centre = slope * np.arange(width) + intercept
    in_frame = np.flatnonzero((centre >= 0) & (centre < height))
    if len(in_frame) < LINE_MIN_LENGTH * width:
        return None
    # Only the rows the line passes through are looked at.
    reach = thickness / 2 + 1
    top = max(0, int(centre[in_frame].min() - reach))
    bottom = min(height, int(centre[in_frame].max() + reach) + 2)
    window = (
        mask[top:bottom]
        & (np.abs(np.arange(top, bottom)[:, None] - centre) <= reach)
        & (runs[top:bottom] <= thickness + LINE_RUN_SLACK)
    )
    covered = np.flatnonzero(window.any(axis=0))
    # subtle: a fit through two parallel lines a few rows apart runs between them, over no ink at all.
    if len(covered) == 0:
        return None
    edge = LINE_EDGE * width
    reaches = (covered[0] <= in_frame[0] + edge, covered[-1] >= in_frame[-1] - edge)
    if len(covered) < LINE_MIN_SPAN * len(in_frame) or not any(reaches):
        return None
    # A paper line lies on blank paper: along most of it, just above and just below is no ink (a
    # stripe of a texture or of noise has ink all around).
    probe = reach + thickness + LINE_RUN_SLACK
    above = np.round(centre[covered] - probe).astype(np.int64)
    below = np.round(centre[covered] + probe).astype(np.int64)
    blank_above = (above < 0) | ~mask[np.clip(above, 0, height - 1), covered]
    blank_below = (below >= height) | ~mask[np.clip(below, 0, height - 1), covered]
    clear = np.mean(blank_above & blank_below)
    if clear < LINE_FAMILY_CLEAR:
        return None
    band = np.zeros(mask.shape, dtype=bool)
    band[top:bottom] = window
    return band, slope, all(reaches) and abs(slope) <= LINE_MAX_SLOPE and clear >= LINE_CLEAR


def vertical_runs(mask):
    """For every pixel of a mask, the length of the vertical run of True pixels it belongs to (0 off the mask)."""
    height, width = mask.shape
    framed = np.zeros((width, height + 2), dtype=bool)
    framed[:, 1:-1] = mask.T
    line = framed.ravel()
    changes = np.flatnonzero(line[1:] != line[:-1]) + 1
    starts, ends = changes[0::2], changes[1::2]
    lengths = np.zeros(line.size + 1, dtype=np.int64)
    np.add.at(lengths, starts, ends - starts)
    np.add.at(lengths, ends, starts - ends)
    per_pixel = np.cumsum(lengths)[: line.size].reshape(width, height + 2)[:, 1:-1]
    return np.where(mask, per_pixel.T, 0)


def without_stray_marks(pieces):
    """The pieces without stray marks: marks much smaller than the digits and far from all of them.

    A mark is smaller than ``STRAY_HEIGHT`` of the tallest piece and at least ``STRAY_GAP`` of its
    height away from every piece that is not. A mark stacked above or below a digit was merged into
    it by ``segmentation``; it is cut off first, at a gap of blank rows that long. Marks are told
    from digits only among strokes: where solid shapes are ``SOLID_SHARE`` of the tall pieces (a photo
    of objects), nothing is dropped. Strips of the paper's edge or of its lines at the image's frame
    (``without_frame_strips``) are dropped first.
    """
    # subtle: strips at the frame go first, so that a long one does not make the digits look small
    # (or, solid, make the image look like a photo of objects).
    cut = without_frame_strips([part for piece in pieces for part in without_far_rows(piece)])
    digits = tall_pieces(cut)
    if sum(is_solid(piece) for piece in digits) >= SOLID_SHARE * len(digits):
        return pieces
    if len(cut) < 2:
        return cut
    tallest = digits[0].box.height
    return [
        piece
        for piece in cut
        if piece.box.height >= STRAY_HEIGHT * tallest
        or min(box_distance(piece.box, digit.box) for digit in digits) < STRAY_GAP * tallest
    ]


def tall_pieces(pieces):
    """The pieces at least ``STRAY_HEIGHT`` as tall as the tallest, the tallest first: the digits, if any."""
    ordered = sorted(pieces, key=lambda piece: piece.box.height, reverse=True)
    return [piece for piece in ordered if piece.box.height >= STRAY_HEIGHT * ordered[0].box.height] if ordered else []


def is_among_objects(pieces):
    """True when the image's tall pieces are two or more solid shapes and nothing else: a photo of objects.

    A bold 8 fills its box as a shape does (up to 0.72 in the bench), but a number has other digits;
    and a number of bold 1s, bars all of them, is not shapes.
    """
    tall = tall_pieces(pieces)
    return (
        len(tall) >= 2 and all(is_solid(piece) for piece in tall) and not all(is_elongated(piece.box) for piece in tall)
    )


def without_frame_strips(pieces):
    """The pieces without strips of the paper's edge or of its lines that reach the image's frame.

    A photo cropped across the paper's edge or a line of squared paper keeps a strip of it along the
    frame, which reads as a sure 1; a line that the paper-line search missed (it fades into a shadow
    half way) runs into the frame too. Such a piece is drawn with strokes under ``SLIVER_PEN_FRACTION``
    of the other pieces' (their median: one writer's digits share one pen, and the thinnest digits of
    the bench's numbers, written by many MNIST writers, are still 0.31 of their neighbours'), or it is
    a line: more than ``STRIP_ELONGATION`` times as long as wide and more than ``STRIP_LENGTH`` times
    as long as the other pieces are tall (their median).
    """
    if len(pieces) < 2 or not any(touches_frame(piece) for piece in pieces):
        return pieces
    widths, heights = [], []
    for piece in pieces:
        box = piece.box
        widths.append(normalize.stroke_width(piece.members[box.top : box.bottom, box.left : box.right]))
        heights.append(box.height)
    kept = []
    for index, piece in enumerate(pieces):
        if touches_frame(piece):
            box = piece.box
            other_widths = float(ink.median(np.array(widths[:index] + widths[index + 1 :])))
            other_heights = float(ink.median(np.array(heights[:index] + heights[index + 1 :])))
            length = max(box.width, box.height)
            if widths[index] < SLIVER_PEN_FRACTION * other_widths or (
                length > STRIP_ELONGATION * min(box.width, box.height) and length > STRIP_LENGTH * other_heights
            ):
                continue
        kept.append(piece)
    return kept


def touches_frame(piece):
    """True when the piece's box reaches an edge of the image it was found in."""
    box = piece.box
    height, width = piece.members.shape
    return box.left == 0 or box.top == 0 or box.right == width or box.bottom == height


def without_far_rows(piece):
    """The piece, or the pieces of its tallest part alone when a much smaller part lies far above or below it.

    A dash above a number, overlapping two of its digits, merged them into one piece; without it,
    they are grouped again (``segmentation.group_digits``).
    """
    box = piece.box
    inked = np.flatnonzero(piece.members[box.top : box.bottom, box.left : box.right].any(axis=1))
    gaps = np.diff(inked) - 1
    if len(gaps) == 0 or gaps.max() == 0:
        return [piece]
    cut = int(np.argmax(gaps))
    upper, lower = (inked[0], inked[cut] + 1), (inked[cut + 1], inked[-1] + 1)
    heights = (upper[1] - upper[0], lower[1] - lower[0])
    if gaps[cut] < STRAY_GAP * max(heights) or min(heights) >= STRAY_HEIGHT * max(heights):
        return [piece]
    start, end = upper if heights[0] >= heights[1] else lower
    members = np.zeros(piece.members.shape, dtype=bool)
    rows = slice(box.top + start, box.top + end)
    members[rows] = piece.members[rows]
    return segmentation.group_digits(members)


def is_solid(piece):
    """True when the piece's ink fills more than ``SOLID_FILL`` of its box (``SOLID_BAR_FILL`` for a long bar):
    a shape, not pen strokes."""
    box = piece.box
    fill = np.count_nonzero(piece.members[box.top : box.bottom, box.left : box.right]) / (box.width * box.height)
    return fill > (SOLID_BAR_FILL if is_elongated(box) else SOLID_FILL)


def is_elongated(box):
    """True for a box more than ``SOLID_MAX_ELONGATION`` times as long as it is wide: a bar, if it is solid."""
    return max(box.width, box.height) > SOLID_MAX_ELONGATION * min(box.width, box.height)


def box_distance(first, second):
    """The distance in pixels between two boxes (0 when they touch or overlap)."""
    across = max(0, first.left - second.right, second.left - first.right)
    down = max(0, first.top - second.bottom, second.top - first.bottom)
    return math.hypot(across, down)


def without_crossing_line(ink, mask):
    """``(ink, mask)`` without a line drawn across the whole image, or as they are when there is none.

    A line struck or scribbled through a digit (straight, wavy or zigzag) runs from near one side of
    the image to near the other, past the digit's strokes, which go on above and below it. Its two
    ends, where it runs alone, give the band it lies in: a straight band from one end's centre to the
    other's, as tall as the line swings there. In that band the line's own pixels go: the columns of
    ink that stay inside it and are no taller than the line is at its ends. Where a stroke of the
    digit crosses the line, the ink runs on out of the band and stays:

        . . . . . # # . . . . . . .      the line's ends fix the band (rows 2 and 3);
        . . . . . # # . . . . . . .      the zigzag goes, the 1's stroke crossing it stays
        . # . # . # # . # . # . # .
        # . # . # # # # . # . # . #
        . . . . . # # . . . . . . .

    The digit's own pixels inside the band that are no taller than the line (a stretch of a 4's bar
    the line runs along) go too: they were lost in the line already.
    """
    height, width = mask.shape
    # Nearly every image stops here, at the cost of two small slices: its ink does not reach into the
    # outer CROSSING_EDGE of both sides.
    side = math.floor(CROSSING_EDGE * width) + 1
    if not (mask[:, :side].any() and mask[:, -side:].any()):
        return ink, mask
    columns = np.flatnonzero(mask.any(axis=0))
    first, last = int(columns[0]), int(columns[-1])
    inked_rows = np.flatnonzero(mask.any(axis=1))
    tallest_band = CROSSING_MAX_BAND * (inked_rows[-1] - inked_rows[0] + 1)
    end = max(2, round(CROSSING_END * width))
    ends = (mask[:, first : first + end], mask[:, last - end + 1 : last + 1])
    centres, swings = [], []
    for part in ends:
        rows = np.flatnonzero(part.any(axis=1))
        if rows[-1] - rows[0] + 1 > tallest_band or not part.any(axis=0).all():
            return ink, mask
        centre = float(np.nonzero(part)[0].mean())
        centres.append(centre)
        swings.append(max(centre - rows[0], rows[-1] - centre))
    # The band's middle row in each column: a straight line through the centres of the two ends.
    span = max(1, last - first - (end - 1))
    if abs(centres[1] - centres[0]) > CROSSING_MAX_SLOPE * span:
        return ink, mask
    middle = centres[0] + (centres[1] - centres[0]) * (np.arange(width) - (first + (end - 1) / 2)) / span
    offset = np.arange(height)[:, None] - middle
    reach = max(swings) + 1
    band = np.abs(offset) <= reach
    band[:, :first] = False
    band[:, last + 1 :] = False
    if np.count_nonzero((mask & band).any(axis=0)) < CROSSING_COVER * (last - first + 1):
        return ink, mask
    # subtle: a column of ink lies wholly in the band when its run in the band is its whole run.
    runs = vertical_runs(mask)
    thickest = max(int(vertical_runs(part).max()) for part in ends)
    line = band & (runs == vertical_runs(mask & band)) & (runs <= thickest)
    rest = mask & ~line
    if thickest > CROSSING_MAX_THICKNESS * normalize.stroke_width(rest):
        return ink, mask
    others = np.flatnonzero(rest.any(axis=0))
    overhang = CROSSING_OVERHANG * width
    if len(others) == 0 or others[0] - first < overhang or last - others[-1] < overhang:
        return ink, mask
    # The line runs through the digit, whose strokes go on above and below it; the foot of a 2 or the
    # bar of a 7 running from side to side has strokes on one side only.
    if not ((rest & (offset < -reach)).any() and (rest & (offset > reach)).any()):
        return ink, mask
    # The line's soft edges go with it, except where they are the soft edges of a stroke kept.
    ink = np.where(normalize.grow_mask(line) & ~rest, np.float32(0.0), ink)
    return ink, rest
