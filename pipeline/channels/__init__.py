"""One module per channel (see ``base.Channel``); ``registry`` builds them from settings.

A subpackage, never a top-level ``channels`` module: that name belongs to Django Channels.
"""
