"""Telecare monitoring and alerting service."""
