"""The HRRR convective DDPM family plugin: hookimpls only; everything else is imported when a hook is called."""

from __future__ import annotations
