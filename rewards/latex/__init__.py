"""LaTeX validity: a tokenizer and a TeX-like parser with its own macro table (entry point: `validity.check_latex`).
"""
