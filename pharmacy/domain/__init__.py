"""Pure domain core: dosing, vial plans, BUDs, worksheets, scans. No Flask, no database."""
