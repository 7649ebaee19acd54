"""The numbers the paper reports, in one place (Gilbert et al., IJCAI 2017), keyed by our layer names.

Notebooks compare against these; nothing here is computed.
"""

# Table 1: CIFAR-10 test accuracy (%), 1/2/3 conv layers.
TABLE1 = {"random": {1: 66.5, 2: 74.6, 3: 74.8}, "learned": {1: 68.1, 2: 83.3, 3: 89.3}}

# Table 2: % of nonzeros of VGG16 activations on the ILSVRC-2012 validation set.
TABLE2 = {
    "conv1_1": 49.1,
    "conv1_2": 69.7,
    "pool1": 80.8,
    "conv2_1": 67.4,
    "conv2_2": 49.7,
    "pool2": 70.7,
    "conv3_1": 53.4,
    "conv3_2": 51.9,
    "conv3_3": 28.7,
    "pool3": 45.9,
    "conv4_1": 35.6,
    "conv4_2": 29.6,
    "conv4_3": 12.6,
    "pool4": 23.1,
    "conv5_1": 23.9,
    "conv5_2": 20.6,
    "conv5_3": 7.3,
    "pool5": 13.1,
}

# Table 3: layer-wise relative reconstruction errors, layers 1-4 (pool(i) activations).
TABLE3 = {
    "image": {
        "learned": {1: 0.423, 2: 0.692, 3: 0.326, 4: 0.379},
        "random": {1: 0.380, 2: 0.438, 3: 0.345, 4: 0.357},
        "randact": {1: 0.610, 2: 0.864, 3: 0.652, 4: 0.436},
    },
    "act": {
        "learned": {1: 0.895, 2: 0.961, 3: 0.912, 4: 1.051},
        "random": {1: 0.872, 2: 0.926, 3: 0.862, 4: 0.992},
        "randact": {1: 1.414, 2: 1.414, 3: 1.414, 4: 1.414},
    },
}


def table3_by_label() -> dict[str, float]:
    """Table 3 keyed as the notebooks and the full-scale results label its cells: "act.<i>.<kind>",
    "img.<i>.<kind>" and "robust.img.<i>.<kind>" (the robust decoders answer the same image-space cell)."""
    out = {f"act.{i}.{k}": v for k, row in TABLE3["act"].items() for i, v in row.items()}
    image = {f"img.{i}.{k}": v for k, row in TABLE3["image"].items() for i, v in row.items()}
    return out | image | {f"robust.{label}": v for label, v in image.items()}


# Table 4: coherence of VGG16's learned filters and of Gaussian random filters of the same sizes.
TABLE4 = {
    "learned": {
        "conv1_1": 0.9427,
        "conv1_2": 0.7340,
        "conv2_1": 0.6435,
        "conv2_2": 0.7465,
        "conv3_1": 0.5838,
        "conv3_2": 0.4844,
        "conv3_3": 0.5194,
        "conv4_1": 0.4596,
        "conv4_2": 0.4574,
        "conv4_3": 0.4043,
        "conv5_1": 0.4099,
        "conv5_2": 0.4099,
        "conv5_3": 0.4046,
    },
    "random": {
        "conv1_1": 0.6701,
        "conv1_2": 0.1218,
        "conv2_1": 0.1546,
        "conv2_2": 0.1053,
        "conv3_1": 0.1099,
        "conv3_2": 0.0895,
        "conv3_3": 0.0802,
        "conv4_1": 0.0920,
        "conv4_2": 0.0619,
        "conv4_3": 0.0617,
        "conv5_1": 0.0696,
        "conv5_2": 0.0674,
        "conv5_3": 0.0674,
    },
}

# Figure 3 (Section 4.4): centre of ||W^T z|| / ||z|| within 0.05 of 1, spread below about 0.05.
FIG3 = {"center_tolerance": 0.05, "spread": 0.05, "D": 15}

# Figure 2(c) (Section 4.2): the one-step relative reconstruction error ||x_hat - x|| / ||x|| of
# random filters is "concentrated around 0.1-0.2" and "bounded under 0.5".
FIG2C = {"median": (0.1, 0.2), "max": 0.5}

# Table 1 (Sections 2.1 and 5.1): the filter sizes and the smallest and largest widths (channels) among which
# cross-validation chose each network's architecture.
TABLE1_GRID = {"ksize": (3, 5, 7), "width": (64, 2048)}

# Figure 2 (Section 4.2): the setting of the random-filter experiments (filter length l, channels M, filters K,
# input length D, nonzeros k).
FIG2 = {"l": 5, "M": 32, "K": 96, "D": 32, "k": 10}
