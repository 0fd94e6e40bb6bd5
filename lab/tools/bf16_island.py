"""Does External attention's double normalisation need float32 inside a bf16 deploy form? A trained EA classifier's
test set through its bf16 deploy form twice: as shipped (the map normalised in bfloat16), and with the double
normalisation computed in float32 (an island: the map cast up, softmax over tokens and L1 over the memory units in
float32, cast back). Prints top-1, agreement with float32 and the relative error of the logits for each.

Usage: python lab/tools/bf16_island.py CONFIG CHECKPOINT [--threads 1]

The island replaces the double-normalisation functions the EA deploy branch calls, in this process only (a lab
experiment; the library's forms are not changed).
"""
import argparse
import copy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout: the lab is not installed


def main(argv: list[str] | None = None) -> int:
    """Print the three rows; returns the exit code."""
    import torch

    import backbones  # noqa: F401  (the config's checkpoint through the safe loader)
    import backbones.models.mixers.external_attention as ea
    from backbones.apis.loading import load_model, test_batch
    from backbones.deploy import convert_to_deploy
    from backbones.utils.machine import cpu_flags, cpu_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg, model = load_model(args.config, args.checkpoint)
    batch, _ = test_batch(cfg, len_test_set(cfg))
    x = model.data_preprocessor(batch, False)["inputs"]
    labels = torch.tensor([int(s.gt_label) for s in batch["data_samples"]])
    shipped = (ea.double_normalize, ea.memory_map_t)

    def dn_fp32(z: torch.Tensor, *a, **k) -> torch.Tensor:
        return shipped[0](z.float(), *a, **k).to(z.dtype)

    def map_t_fp32(tokens: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, *a, **k):  # noqa: ANN202
        return shipped[1](tokens.float(), weight.float(), None if bias is None else bias.float(), *a, **k
                          ).to(tokens.dtype)

    with torch.no_grad():
        ref = model.eval()(x, mode="tensor")
        rows = [("fp32", ref), ("bf16", convert_to_deploy(copy.deepcopy(model), "bf16")(x, mode="tensor"))]
        ea.double_normalize, ea.memory_map_t = dn_fp32, map_t_fp32
        try:
            rows.append(("bf16, double normalisation in fp32",
                         convert_to_deploy(copy.deepcopy(model), "bf16")(x, mode="tensor")))
        finally:
            ea.double_normalize, ea.memory_map_t = shipped
    print(f"CPU {cpu_model()}; flags {' '.join(cpu_flags()) or '-'}; {Path(args.config).stem}, {len(labels)} images")
    for name, out in rows:
        print(f"{name}: top-1 {100 * (out.argmax(1) == labels).float().mean():.2f}%, agreement with fp32 "
              f"{100 * (out.argmax(1) == ref.argmax(1)).float().mean():.2f}%, relative error of the logits "
              f"{((out - ref).norm() / ref.norm()).item():.4f}")
    return 0


def len_test_set(cfg) -> int:  # noqa: ANN001
    """Samples in the config's test set."""
    from mmengine.registry import DATASETS, DefaultScope

    with DefaultScope.overwrite_default_scope(cfg.get("default_scope")):
        return len(DATASETS.build(cfg.test_dataloader.dataset))


if __name__ == "__main__":
    raise SystemExit(main())
