"""Tables: HTML table parsing, grids and spans, structure checks, TEDS and its tree edit distance, table pairing.

Imports nothing else from `rewards`.
"""
