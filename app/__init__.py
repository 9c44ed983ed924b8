"""The Gradio demo app (`firered-ocr app`): read a page, see where the model hallucinated structure.

Nothing in the project imports this package; it sits on top of firered_ocr, rewards and data_prep.
"""
