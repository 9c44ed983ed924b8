"""A user's PDFs to pages with silver labels from the text layer (`firered-ocr prep pdfs`).
"""
