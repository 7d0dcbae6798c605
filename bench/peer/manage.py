#!/usr/bin/env python3
"""The peer's manage.py: `migrate_schemas --shared`, `create_schools`, as scripts/bench runs them."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peer.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
