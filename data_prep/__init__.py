"""Training data for firered-ocr: synthetic pages with exact ground truth, and a user's PDFs with silver labels.

`firered-ocr prep synth` and `firered-ocr prep pdfs` (see `data_prep/cli.py` and docs/data.md). This
package never imports torch or firered_ocr; it imports `rewards` only to validate its ground truth.
"""
