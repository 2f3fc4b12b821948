"""The dekag claims over seeds, from synthetic results files of several seeds."""

import math

import pytest

from semdistill.experiments.dekag import DekagConfig, claims
from semdistill.experiments.dekag.claims import FILES
from semdistill.results import Results

#: Student t quantile t(0.975, 2): three seeds,
T2 = 4.3027  # the library table's four digits (4.302653 exactly)
#: per seed: (CALA, base, base_matched, shared LoRA, VGSA) grid-mean PSNR [dB]
SEEDS = {0: (28.0, 20.0, 27.0, 27.8, 27.0), 1: (28.5, 20.0, 26.5, 28.2, 27.5),
         2: (29.0, 20.0, 26.0, 28.6, 29.5)}
LOW_SHIFT = {"cala": -3.0, "shared_lora": -3.5}  # at 0 dB (low SNR) below the grid mean


def _write(folder, seeds=SEEDS, cala_consistency=0.75, bytes_=100.0):
    grid, refs = Results("dekag", "dekag-grid"), Results("dekag", "dekag-bytes")
    grid.meta = {"trainable": {"cala": {"fraction": 0.0478}}}
    names = ("cala", "base", "base_matched", "shared_lora", "vgsa")
    for seed, values in seeds.items():
        for method, mean in zip(names, values, strict=True):
            shift = LOW_SHIFT.get(method, 0.0)
            for snr, d in ((0.0, shift), (20.0, -shift)):  # the grid mean stays ``mean``
                grid.add(method=method, seed=seed, rate=0, symbols=128, snr_db=snr,
                         bytes=bytes_, psnr=mean + d, latent_psnr=mean,
                         consistency=(cala_consistency + seed / 100 if method == "cala"
                                      else 0.3) - (0.1 if snr == 0.0 else 0.0))
        refs.add(reference="edge image, JPEG q75", seed=seed, bytes=760.0, consistency=0.72)
    grid.save(folder / FILES[0])
    refs.save(folder / FILES[1])
    return folder


def _interval(values):
    m = sum(values) / len(values)
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    h = T2 * sd / math.sqrt(len(values))
    return m - h, m, m + h


def test_claims_over_three_seeds_give_the_t_intervals_and_verdicts(tmp_path):
    found = {c.name: c for c in claims(DekagConfig(), _write(tmp_path))}
    gain = found["cala_gain_over_base"]  # 8.0, 8.5, 9.0: [7.26, 9.74] ≥ 6.5
    assert gain.per_seed == {0: 8.0, 1: 8.5, 2: 9.0}
    assert gain.interval == pytest.approx(_interval([8.0, 8.5, 9.0]), rel=1e-5)
    assert gain.verdict == "PASS" and "t-interval over 3 seeds, paired by seed" in gain.detail
    matched = found["cala_gain_over_base_matched"]  # 1, 2, 3: [-0.48, 4.48] < 6.5
    assert matched.per_seed == {0: 1.0, 1: 2.0, 2: 3.0} and matched.verdict == "FAIL"
    assert matched.threshold == 6.5
    lora = found["cala_beats_shared_lora_average"]  # 0.2, 0.3, 0.4 > 0
    assert lora.interval == pytest.approx(_interval([0.2, 0.3, 0.4]), rel=1e-5) and lora.verdict == "PASS"
    low = found["cala_beats_shared_lora_low_snr"]  # 0.7, 0.8, 0.9 at 0 dB
    assert low.per_seed == pytest.approx({0: 0.7, 1: 0.8, 2: 0.9}) and low.verdict == "PASS"
    vgsa = found["cala_beats_vgsa_average"]  # 1.0, 1.0, -0.5: straddles 0
    assert vgsa.verdict == "INCONCLUSIVE" and vgsa.passed is None
    jpeg = found["cala_bytes_vs_edge_image_jpeg_q75"]  # best 0.75, 0.76, 0.77 vs 0.72
    assert jpeg.per_seed == pytest.approx({0: 0.03, 1: 0.04, 2: 0.05})
    assert jpeg.verdict == "PASS" and "fewer" in jpeg.detail
    frac = found["cala_trainable_fraction"]
    assert frac.verdict == "PASS" and frac.interval is None and not frac.per_seed


def test_bytes_claim_fails_over_seeds_when_cala_sends_more_bytes(tmp_path):
    found = {c.name: c for c in claims(DekagConfig(), _write(tmp_path, bytes_=800.0))}
    jpeg = found["cala_bytes_vs_edge_image_jpeg_q75"]
    assert jpeg.verdict == "FAIL" and "NOT fewer" in jpeg.detail


def test_bytes_claim_states_cala_at_the_best_channel_condition_too(tmp_path):
    """The best of the grid is a maximum over conditions; the line also gives the figure at
    the most symbols and the highest SNR, which need not be where the maximum lies."""
    grid, refs = Results("dekag", "dekag-grid"), Results("dekag", "dekag-bytes")
    for seed in (0, 1):
        for symbols, snr, value in ((64, 20.0, 0.90), (128, 0.0, 0.80), (128, 20.0, 0.70)):
            grid.add(method="cala", seed=seed, rate=0, symbols=symbols, snr_db=snr,
                     bytes=50.0, psnr=20.0, latent_psnr=20.0, consistency=value + seed / 100)
        refs.add(reference="edge image, JPEG q75", seed=seed, bytes=760.0, consistency=0.72)
    grid.save(tmp_path / FILES[0])
    refs.save(tmp_path / FILES[1])
    jpeg = {c.name: c for c in claims(DekagConfig(), tmp_path)}["cala_bytes_vs_edge_image_jpeg_q75"]
    assert jpeg.per_seed == pytest.approx({0: 0.18, 1: 0.19})  # the maximum: 64 symbols
    assert "CALA at the best channel condition − JPEG's -0.0150" in jpeg.detail  # (-0.02, -0.01)


def test_one_seed_is_smoke_placed_against_a_reference(tmp_path):
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    reference = {c.name: c for c in claims(DekagConfig(), _write(ref_dir))}
    one = tmp_path / "one"
    one.mkdir()
    found = {c.name: c for c in claims(DekagConfig(), _write(one, {0: SEEDS[0]}), reference)}
    gain = found["cala_gain_over_base"]
    assert gain.verdict == "SMOKE" and gain.passed and gain.per_seed == {0: 8.0}
    assert "single seed s0, would pass" in gain.detail
    assert "below the reference 95% interval" not in gain.detail
    assert "inside the reference 95% interval" in gain.detail
    assert "over 3 seeds (reference verdict PASS)" in gain.detail
    assert found["cala_gain_over_base_matched"].verdict == "SMOKE"
    assert found["cala_trainable_fraction"].verdict == "PASS"  # not a seed statistic
    without = {c.name: c for c in claims(DekagConfig(), one)}
    assert "reference" not in without["cala_gain_over_base"].detail


def test_records_without_a_seed_belong_to_the_run_seed_and_a_missing_folder_has_no_claims(
        tmp_path):
    folder = _write(tmp_path, {3: SEEDS[1]})
    grid = Results.load(folder / FILES[0])
    for r in grid.records:
        del r["seed"]
    grid.save(folder / FILES[0])
    found = {c.name: c for c in claims(DekagConfig(seed=3), folder)}
    assert found["cala_gain_over_base"].per_seed == {3: 8.5}  # bytes records still say seed 3
    assert found["cala_bytes_vs_edge_image_jpeg_q75"].per_seed == pytest.approx({3: 0.06})
    assert claims(DekagConfig(), tmp_path / "nowhere") == []
