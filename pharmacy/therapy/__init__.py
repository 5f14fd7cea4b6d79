"""Therapy follow-up pages: lab results, symptom reports, reviews and the trend picture."""
