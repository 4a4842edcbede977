"""Leaf helpers with no Cairn dependencies beyond errors and settings."""
