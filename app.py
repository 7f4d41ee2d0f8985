"""Draw digits in your browser and read them, or post images to the HTTP API: python app.py, then open the URL.

The command line lives in ``number_recognition.web.command``, like ``recognize.py``'s, so that the
installed package can offer the same command from any folder; this script only calls ``main``.
"""

from number_recognition.web import command


def main(argv=None):
    command.main(argv)


if __name__ == "__main__":
    main()
