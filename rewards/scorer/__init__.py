"""The corpus scorer behind `firered-ocr score`: reading prediction/ground-truth folders, the report, the CLI.
"""
