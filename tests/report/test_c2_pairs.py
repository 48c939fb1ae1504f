"""C2's deciding comparisons: stems of one kernel and stride that differ in one factor."""

from __future__ import annotations

from ablate.analysis.coverage import padding_pairs, summary
from ablate.models.architectures import parse_stem


def test_padding_pairs_isolate_unread_pixels_and_the_remainder():
    stems = ["k2s2p0", "k3s2p0", "k3s2p1", "k5s3p0", "k5s3p1", "k5s3p2"]
    geometry = {s: summary(28, *parse_stem(s)) for s in stems}
    assert sorted(padding_pairs(geometry)) == [
        ("remainder", "k5s3p1", "k5s3p2"),
        ("unread", "k3s2p0", "k3s2p1"),
        ("unread", "k5s3p0", "k5s3p1"),
    ]
