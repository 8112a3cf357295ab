"""How a loaded V23/AUDIT-03 bundle gets its IRI atlas: from the registered dataset (in gates via ``ctx.dataset``)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from plugins.ionis.atlas import AtlasRule, IriAtlas
from registry.errors import DataMissing, GateError, InvalidCheckpoint

if TYPE_CHECKING:
    from cache.datasets import Dataset
    from plugins.ionis.checkpoint import IonisBundle


def attach(bundle: IonisBundle, ds: Dataset) -> IonisBundle:
    """``bundle`` reading its atlas from ``ds`` (every chunk verified); ``InvalidCheckpoint`` if ``ds`` is not an
    atlas or was built for another bucket rule than the version's config."""
    if bundle.atlas is not None and bundle.atlas.digest == ds.digest:
        return bundle
    atlas = IriAtlas.from_dataset(ds)
    atlas.check_rule(AtlasRule.from_config(bundle.config))
    return replace(bundle, atlas=atlas)


def for_gate(ctx: Any, bundle: IonisBundle) -> IonisBundle:
    """The candidate with its atlas opened through ``ctx.dataset`` (so the evidence pins the atlas's digest and
    ``verify`` reads exactly that content); a version without IRI features is returned as it is."""
    name = bundle.atlas_dataset
    if name is None:
        return bundle
    try:
        ds = ctx.dataset(name)
    except DataMissing as exc:
        why = str(exc).split("; run `registry datasets add")[0]
        rule = AtlasRule.from_config(bundle.config)
        raise DataMissing(f"the IRI atlas this version reads cannot be read: {why}; build it into this registry's "
                          f"home with `{rule.build_command()}` (needs pyiri)") from None
    try:
        return ctx.memo(f"ionis-iri-atlas:{id(bundle)}:{ds.digest}", lambda: attach(bundle, ds))  # type: ignore[no-any-return]
    except InvalidCheckpoint as exc:
        raise GateError(str(exc)) from None
