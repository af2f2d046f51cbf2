"""Gridline's web application: settings, routes, wiring."""
