"""Read the digit, or the whole number, in your own images: python recognize.py image.png [more images or folders].

The command line lives in ``number_recognition.reading.command``, so that the installed package
offers the same command (``recognize-digits``) from any folder.
"""

from number_recognition.reading import command


def main(argv=None):
    command.main(argv)


if __name__ == "__main__":
    main()
