"""Importers for task directories written for other tools: ParlAI, boteval, Rasa."""
