"""Residents and their contacts: the personal data, encrypted at rest.

Names, addresses, access and key-safe details, health notes, phone numbers
and email addresses are only ever stored encrypted, with a key kept outside
the database, and are never logged.
"""
