"""The tokens modality: bad files name file and line; every objective trains its phases; G samples
what it models; BLEU equals NLTK's; the NLLs respond to what they measure."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from ganforge.modalities.tokens import MODALITY
from ganforge.modalities.tokens.config import TokenData, TokenModel
from ganforge.modalities.tokens.data import load_corpus
from ganforge.modalities.tokens.metrics import ReferenceCounts, bleu, heldout_nll, quality, self_bleu
from ganforge.modalities.tokens.metrics import sentence_bleu as fast_bleu
from ganforge.modalities.tokens.nets import TokenGenerator, tempered
from ganforge.modalities.tokens.oracle import OracleLSTM
from ganforge.modalities.tokens.samples import decode_all
from ganforge.modalities.tokens.tiny import tiny_tokens
from ganforge.platform.config import load_job_dict
from ganforge.platform.errors import DataError
from ganforge.platform.gan import GanNets
from ganforge.platform.runners.loop import build_objective

# --- data ------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _ids(path: Path, **extra: object) -> TokenData:
    return TokenData(dataset="token_ids", path=path, seq_len=3, **extra)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("\n  \n", "empty file"),
        ("1 2 3\n4 x 6\n", "line 2, token 2: 'x' is not a token id"),
        ("1 2 3\n4 5\n", "line 2: 2 tokens, fewer than data.seq_len = 3"),
        ("1 2 3\n", "1 sequence(s)"),
    ],
)
def test_bad_token_id_files_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "ids.txt", text)
    with pytest.raises(DataError, match=str(path)) as error:
        load_corpus(_ids(path))
    assert message in str(error.value)


def test_token_id_vocab_must_cover_the_ids(tmp_path: Path) -> None:
    path = _write(tmp_path / "ids.txt", "1 2 3\n4 5 9\n")
    assert load_corpus(_ids(path)).vocab_size == 10
    with pytest.raises(DataError, match="holds id 9"):
        load_corpus(_ids(path, vocab_size=5))


def test_text_corpus_round_trips_through_the_saved_vocabulary(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.txt", "The cat sat.\nA dog ran far away.\n\nThe cat ran.\n")
    words = MODALITY.prepare(
        TokenData(dataset="text", path=path, tokenizer="word", seq_len=5, heldout_fraction=0.3)
    )
    info = json.loads(json.dumps(words.info))
    assert words.corpus is not None
    decoded = set(decode_all(words.corpus.train, info)) | set(decode_all(words.corpus.heldout, info))
    assert decoded == {"The cat sat .", "A dog ran far away", "The cat ran ."}  # 6 tokens cut to 5
    chars = MODALITY.prepare(TokenData(dataset="text", path=path, seq_len=40))
    assert chars.corpus is not None
    every = torch.cat([chars.corpus.train, chars.corpus.heldout])
    assert "The cat sat." in decode_all(every, chars.info)


def test_empty_text_file_fails(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="empty file"):
        MODALITY.prepare(TokenData(dataset="text", path=_write(tmp_path / "e.txt", "")))


def test_job_config_round_trips_with_every_key_dumped() -> None:
    job = load_job_dict(MODALITY.tiny_config())
    assert load_job_dict(job.to_dict()) == job


# --- objectives ------------------------------------------------------------------------------------


def _objective(raw: dict):  # noqa: ANN202
    job = load_job_dict(raw)
    data = MODALITY.prepare(job.data)
    g, d = MODALITY.build_generator(job.model, data), MODALITY.build_discriminator(job.model, data)
    objective = build_objective(job, GanNets(g, d, g, d), torch.device("cpu"))
    return job, data, g, objective, data.dataset.tensors[0][:16]  # type: ignore[attr-defined]


@pytest.mark.parametrize("method", ["mle", "seqgan", "gumbel"])
def test_token_objectives_train_every_phase(method: str) -> None:
    torch.manual_seed(0)
    job, data, g, objective, real = _objective(tiny_tokens(method))
    seen: set[str] = set()
    stepped: set[str] = set()
    for index in range(4):  # steps 0-1: MLE (D from step 1), 2-3: the adversarial method
        objective.start_step(index)
        z = MODALITY.sample_latents(job.model, data.info, 16)
        before = [p.detach().clone() for p in g.parameters()]
        stats = objective.discriminator_step(real, z, index)
        stats.update(objective.generator_step(z, real))
        seen |= set(stats)
        stepped |= {name for name, opt in objective.optimizers.items() if opt.state}
        assert all(torch.isfinite(v).all() for v in stats.values())
        assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters(), strict=True))
    expected = {"mle": set(), "seqgan": {"reward", "loss_d"}, "gumbel": {"temperature", "loss_d"}}[method]
    assert expected <= seen
    # MLE steps only its own optimizer; the adversarial methods step all three.
    assert stepped == ({"mle"} if method == "mle" else {"mle", "generator", "discriminator"})


def test_gumbel_temperature_rises_to_its_maximum() -> None:
    _, _, _, objective, _ = _objective(tiny_tokens("gumbel"))  # 6 steps, 2 of them MLE
    temperatures = []
    for index in range(6):
        objective.start_step(index)
        temperatures.append(objective.temperature())
    assert temperatures[:3] == [1.0, 1.0, 1.0]
    assert temperatures == sorted(temperatures) and temperatures[-1] == pytest.approx(10.0)


def test_mle_gradient_norm_is_clipped_at_five() -> None:
    _, _, _, objective, real = _objective(tiny_tokens("mle"))
    objective.start_step(0)
    loss = objective.g.nll(real) * 1e4  # a huge gradient
    norm = objective.update("mle", loss)
    assert norm > 5.0
    clipped = torch.nn.utils.get_total_norm([p.grad for p in objective.specs["mle"].parameters])
    assert clipped == pytest.approx(5.0, rel=1e-4)


def test_token_generator_samples_its_own_distribution() -> None:
    torch.manual_seed(0)
    job = load_job_dict(tiny_tokens("mle"))
    data = MODALITY.prepare(job.data)
    g = MODALITY.build_generator(job.model, data).eval()
    z = MODALITY.sample_latents(job.model, data.info, 20000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        tokens = g(z)
        probs = torch.softmax(g.teacher_logits(tokens[:1])[0, 0], dim=-1)  # first position
    assert torch.equal(tokens, g(z))  # deterministic given the latents
    counts = torch.bincount(tokens[:, 0], minlength=len(probs)).float() / len(tokens)
    assert (counts - probs).abs().max() < 0.02


def test_a_tempered_generator_samples_and_scores_softmax_of_logits_over_temperature() -> None:
    torch.manual_seed(0)
    job = load_job_dict(tiny_tokens("mle"))
    data = MODALITY.prepare(job.data)
    g = MODALITY.build_generator(job.model, data).eval()
    head = g.out.weight.clone()
    cold = tempered(g, 0.5)
    tokens = torch.randint(0, g.vocab_size, (16, g.seq_len))
    z = MODALITY.sample_latents(job.model, data.info, 20000, torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = g.teacher_logits(tokens)
        expected = F.cross_entropy((logits / 0.5).flatten(0, 1), tokens.flatten())
        assert cold.nll(tokens).item() == pytest.approx(expected.item(), rel=1e-5)
        assert torch.equal(tempered(g, 1.0)(z), g(z))
        first = cold(z)[:, 0]
        probs = torch.softmax(g.teacher_logits(first[:1, None])[0, 0] / 0.5, dim=-1)
    counts = torch.bincount(first, minlength=len(probs)).float() / len(first)
    assert (counts - probs).abs().max() < 0.02
    assert torch.equal(g.out.weight, head)  # the original is left as it was
    with pytest.raises(ValueError, match="temperature must be positive"):
        tempered(g, 0.0)


def test_init_std_draws_every_generator_weight_from_one_normal() -> None:
    raw = tiny_tokens("mle")
    data = MODALITY.prepare(load_job_dict(raw).data)
    torch.manual_seed(0)
    model = load_job_dict({**raw, "model": {**raw["model"], "hidden_dim": 64, "init_std": 0.1}}).model
    weights = torch.cat([p.detach().flatten() for p in MODALITY.build_generator(model, data).parameters()])
    assert weights.std().item() == pytest.approx(0.1, rel=0.05) and abs(weights.mean().item()) < 0.01
    default = MODALITY.build_generator(load_job_dict(raw).model, data)
    assert default.embedding.weight.std().item() == pytest.approx(1.0, rel=0.2)  # PyTorch's N(0, 1)


def test_init_generator_loads_weights(tmp_path: Path) -> None:
    raw = tiny_tokens("mle")
    job = load_job_dict(raw)
    data = MODALITY.prepare(job.data)
    g = MODALITY.build_generator(job.model, data)
    torch.save(g.state_dict(), tmp_path / "g.pt")
    model = load_job_dict({**raw, "model": {**raw["model"], "init_generator": str(tmp_path / "g.pt")}}).model
    again = MODALITY.build_generator(model, data)
    pairs = zip(g.state_dict().values(), again.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


# --- metrics ---------------------------------------------------------------------------------------


def _corpus(rng: random.Random, n: int, vocab: int) -> list[tuple[int, ...]]:
    return [tuple(rng.randrange(vocab) for _ in range(rng.randint(3, 9))) for _ in range(n)]


def test_bleu_matches_nltk_sentence_bleu() -> None:
    rng = random.Random(0)
    references, hypotheses = _corpus(rng, 40, 6), _corpus(rng, 25, 6)
    smooth = SmoothingFunction().method1
    expected = [sentence_bleu(references, h, smoothing_function=smooth) for h in hypotheses]
    refs = ReferenceCounts(references)
    assert [fast_bleu(h, refs) for h in hypotheses] == pytest.approx(expected, abs=1e-9)
    assert bleu(hypotheses, references) == pytest.approx(sum(expected) / len(expected), abs=1e-9)


def test_self_bleu_leaves_each_sample_out() -> None:
    rng = random.Random(1)
    samples = _corpus(rng, 30, 5) + [(1, 2, 3, 4, 1)] * 2  # a duplicate still matches its twin
    smooth = SmoothingFunction().method1
    expected = [
        sentence_bleu(samples[:i] + samples[i + 1 :], s, smoothing_function=smooth)
        for i, s in enumerate(samples)
    ]
    assert self_bleu(samples, len(samples)) == pytest.approx(sum(expected) / len(expected), abs=1e-9)
    assert self_bleu([(1, 2, 3, 4)] * 5, 5) == pytest.approx(1.0)


def test_oracle_prefers_its_own_samples() -> None:
    oracle = OracleLSTM(vocab_size=200, embed_dim=8, hidden_dim=8, seq_len=10, seed=3)
    own = oracle.sample(500, torch.Generator().manual_seed(0))
    uniform = torch.randint(200, (500, 10), generator=torch.Generator().manual_seed(0))
    assert own.shape == (500, 10) and int(own.max()) < 200
    assert oracle.nll(own) < oracle.nll(uniform) - 1.0


def test_token_quality_is_the_geometric_mean_token_probability() -> None:
    # A generator that ignores its context and draws token k with probability p[k].
    p = torch.tensor([0.5, 0.25, 0.125, 0.125])
    generator = TokenGenerator(TokenModel(method="mle", hidden_dim=4, embed_dim=3), 4, 6)
    with torch.no_grad():
        generator.out.weight.zero_()
        generator.out.bias.copy_(p.log())
    heldout = torch.randint(4, (10, 6), generator=torch.Generator().manual_seed(0))
    nll = heldout_nll(generator, heldout, batch=3)  # uneven chunks: the mean is over all tokens
    expected = math.exp(p[heldout].log().mean().item())  # (prod of the 60 token probabilities) ** (1/60)
    assert nll == pytest.approx(-p[heldout].log().mean().item(), rel=1e-6)
    assert quality(nll) == pytest.approx(expected, rel=1e-6)
    assert quality(0.0) == 1.0 and 0.0 < quality(50.0) < 1e-20


def test_metric_specs_name_the_oracle_only_for_oracle_data(tmp_path: Path) -> None:
    oracle = {m.name for m in MODALITY.metric_specs(TokenData(dataset="oracle"))}
    text = {
        m.name for m in MODALITY.metric_specs(TokenData(dataset="text", path=_write(tmp_path / "t", "a b\n")))
    }
    assert oracle == text | {"oracle_nll"} and "quality" in text
