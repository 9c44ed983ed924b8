"""The dataset writer shared by both pipelines: shards, the final `datasets` folder, the card, the contact sheet.
"""
