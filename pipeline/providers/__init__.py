"""Providers: one file per way of sending, all behind ``pipeline.providers.base.Provider``."""
