"""The document register: procedures, work instructions, standards and forms with their revisions."""
