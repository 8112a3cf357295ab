"""The TEC family plugin (BiLSTM-attention V2.1): hookimpls only; everything else is imported when a hook is called."""

from __future__ import annotations
