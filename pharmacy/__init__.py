"""Compounding pharmacy order and label system for cyanocobalamin injections.

This module is deliberately empty so that ``import pharmacy.domain`` never loads Flask.
"""
