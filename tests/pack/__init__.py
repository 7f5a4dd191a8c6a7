"""Tests of the CrossGuard policy pack over the analyzer protocol."""
