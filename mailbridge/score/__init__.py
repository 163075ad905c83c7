"""Scoring: rule profiles, the engine that applies them to a period, and the scorecard exports."""
