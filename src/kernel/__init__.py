"""The ground floor: what every family and the runner share. Imports nothing else of adl_runner."""
