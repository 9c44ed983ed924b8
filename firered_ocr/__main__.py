import sys

from firered_ocr.cli import main

sys.exit(main())
