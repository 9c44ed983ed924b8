"""The synthetic page factory: documents, tables, formulas, layout, rendering with exact ground truth.
"""
