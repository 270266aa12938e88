"""Evaluate routing on the labelled set: accuracy per class, confusion, stage-1/stage-2 split.

    tutorplane-routing-eval [--stage2 emulator|api|none] [--threshold 0.7] [--verbose] [--fresh]

Reports stage 1 alone on the training part and on the held-out part (never trained on), then the
two-stage router on every example with its stage split. ``--fresh`` adds the same figures for
``data/routing_set_fresh.jsonl``, a second held-out set that is never trained on or tuned against
(read it only to report, after a model change). ``--stage2 emulator`` (default) runs the
stage-2 classifier against the project's local emulator (its answers are keyword guesses: this
checks the wiring and the split, not Claude's accuracy); ``--stage2 api`` uses the Anthropic API
key and model from the environment (TUTOR_ANTHROPIC_API_KEY / TUTOR_CLASSIFIER_MODEL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tutorplane.routing.dataset import Example, fresh_path, load_examples, split
from tutorplane.routing.local import LocalClassifier
from tutorplane.routing.router import Router
from tutorplane.routing.rules import first_rule_hit
from tutorplane.routing.settings import RoutingSettings
from tutorplane.routing.types import RoutingDecision, Stage, Subject

CLASSES: tuple[Subject, ...] = tuple(Subject)


@dataclass
class Report:
    """Outcome of routing a list of examples."""

    total: int = 0
    correct: int = 0
    per_class: Counter[Subject] = field(default_factory=Counter)
    per_class_correct: Counter[Subject] = field(default_factory=Counter)
    confusion: Counter[tuple[Subject, Subject]] = field(default_factory=Counter)
    stages: Counter[Stage] = field(default_factory=Counter)
    stage_correct: Counter[Stage] = field(default_factory=Counter)
    fallbacks: int = 0
    misses: list[tuple[Example, RoutingDecision]] = field(default_factory=list)
    confidences: list[tuple[float, bool]] = field(default_factory=list)

    def add(self, example: Example, decision: RoutingDecision) -> None:
        ok = decision.subject == example.label
        self.total += 1
        self.correct += ok
        self.per_class[example.label] += 1
        self.per_class_correct[example.label] += ok
        self.confusion[(example.label, decision.subject)] += 1
        self.stages[decision.stage] += 1
        self.stage_correct[decision.stage] += ok
        self.fallbacks += "stage 2 failed" in decision.rationale
        self.confidences.append((decision.confidence, ok))
        if not ok:
            self.misses.append((example, decision))

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def share(self, stage: Stage) -> float:
        return self.stages[stage] / self.total if self.total else 0.0

    def expected_calibration_error(self, bins: int = 10) -> float:
        """Mean |confidence - accuracy| over equal-width confidence bins, weighted by bin size."""
        if not self.confidences:
            return 0.0
        buckets: dict[int, list[tuple[float, bool]]] = {}
        for confidence, ok in self.confidences:
            buckets.setdefault(min(bins - 1, int(confidence * bins)), []).append((confidence, ok))
        error = 0.0
        for items in buckets.values():
            mean_conf = sum(c for c, _ in items) / len(items)
            acc = sum(ok for _, ok in items) / len(items)
            error += len(items) / len(self.confidences) * abs(mean_conf - acc)
        return error


async def evaluate(router: Router, examples: Sequence[Example]) -> Report:
    report = Report()
    for example in examples:
        report.add(example, await router.route(example.text, example.context))
    return report


def evaluate_local(classifier: LocalClassifier, examples: Sequence[Example]) -> Report:
    report = Report()
    for example in examples:
        report.add(example, classifier.classify(example.text, example.context))
    return report


def rule_report(examples: Sequence[Example]) -> dict[str, tuple[int, int]]:
    """rule -> (fired, correct) over ``examples``."""
    out: dict[str, list[int]] = {}
    for example in examples:
        hit = first_rule_hit(example.text)
        if hit is not None:
            counts = out.setdefault(hit.rule, [0, 0])
            counts[0] += 1
            counts[1] += hit.subject == example.label
    return {rule: (fired, correct) for rule, (fired, correct) in sorted(out.items())}


def format_report(title: str, report: Report, *, verbose: bool = False) -> str:
    lines = [f"== {title}: accuracy {report.accuracy:.1%} ({report.correct}/{report.total})"]
    for subject in CLASSES:
        n = report.per_class[subject]
        if n:
            lines.append(
                f"   {subject.value:<14} {report.per_class_correct[subject] / n:6.1%}  "
                f"({report.per_class_correct[subject]}/{n})"
            )
    lines.append("   confusion (rows = label, columns = routed):")
    header = "".join(f"{s.value[:9]:>10}" for s in CLASSES)
    lines.append(f"   {'':<14}{header}")
    for label in CLASSES:
        cells = "".join(f"{report.confusion[(label, routed)]:>10}" for routed in CLASSES)
        lines.append(f"   {label.value:<14}{cells}")
    parts = []
    for stage in (Stage.local, Stage.llm, Stage.tool):
        n = report.stages[stage]
        if n:
            parts.append(
                f"{stage.value} {n} ({report.share(stage):.1%}, {report.stage_correct[stage] / n:.1%} right)"
            )
    lines.append(
        "   stages: "
        + ", ".join(parts)
        + (f"; stage-2 fallbacks {report.fallbacks}" if report.fallbacks else "")
    )
    lines.append(f"   expected calibration error: {report.expected_calibration_error():.3f}")
    if verbose:
        for example, decision in report.misses:
            lines.append(
                f"   MISS {example.id} [{example.kind}] {example.text!r}: {example.label.value} -> "
                f"{decision.subject.value} ({decision.stage.value}, {decision.confidence:.2f}) "
                f"{decision.rationale}"
            )
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def _stage2(kind: str) -> AsyncIterator[object | None]:
    """An Anthropic client for stage 2 (or None), closed on exit."""
    if kind == "none":
        yield None
        return
    from anthropic import AsyncAnthropic

    if kind == "emulator":
        try:
            from tutorplane.emulators import EmulatorServer
        except ImportError as exc:
            raise SystemExit(
                "--stage2 emulator needs the tutorplane-emulators package; install it, "
                "or use --stage2 none (stage 1 only) or --stage2 api"
            ) from exc

        async with EmulatorServer(host="127.0.0.1", port=0) as emu:
            client = AsyncAnthropic(
                api_key="offline-emulator", base_url=emu.anthropic_base_url, max_retries=0
            )
            try:
                yield client
            finally:
                await client.close()
        return
    from tutorplane.common.settings import ProviderSettings

    provider = ProviderSettings()
    if provider.anthropic_api_key is None:
        raise SystemExit("--stage2 api needs TUTOR_ANTHROPIC_API_KEY (or ANTHROPIC_API_KEY) to be set")
    client = AsyncAnthropic(
        api_key=provider.anthropic_api_key.get_secret_value(), base_url=provider.anthropic_base_url
    )
    try:
        yield client
    finally:
        await client.close()


async def run(args: argparse.Namespace) -> str:
    from tutorplane.common.settings import ModelSettings
    from tutorplane.routing.llm_classifier import LLMClassifier
    from tutorplane.routing.router import TwoStageRouter

    examples = load_examples(args.data)
    train_set, heldout = split(examples)
    local = LocalClassifier.load(args.model)
    out = [
        f"labelled set: {len(examples)} utterances ({len(train_set)} train, {len(heldout)} held out); "
        f"kinds {dict(Counter(e.kind for e in examples))}",
        format_report("stage 1 alone, TRAIN part (seen in training)", evaluate_local(local, train_set)),
        format_report(
            "stage 1 alone, HELD-OUT part (never trained on)",
            evaluate_local(local, heldout),
            verbose=args.verbose,
        ),
        "== rules (fired, right): "
        + ", ".join(f"{rule}: {fired}/{correct}" for rule, (fired, correct) in rule_report(examples).items()),
    ]
    async with _stage2(args.stage2) as client:
        llm = None
        if client is not None:
            llm = LLMClassifier(client, model=ModelSettings().classifier_model, timeout_s=10.0)  # type: ignore[arg-type]
        router = TwoStageRouter(local, llm, args.threshold)
        label = f"two-stage, threshold {args.threshold}, stage 2 = {args.stage2}"
        out.append(format_report(f"{label}, ALL", await evaluate(router, examples), verbose=args.verbose))
        out.append(format_report(f"{label}, HELD-OUT", await evaluate(router, heldout)))
        if args.fresh:
            fresh = load_examples(args.fresh_data or fresh_path())
            out.append(
                format_report(
                    f"stage 1 alone, FRESH set ({len(fresh)} utterances, never trained or tuned on)",
                    evaluate_local(local, fresh),
                    verbose=args.verbose,
                )
            )
            out.append(format_report(f"{label}, FRESH", await evaluate(router, fresh), verbose=args.verbose))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate subject routing on the labelled set.")
    parser.add_argument("--stage2", choices=("emulator", "api", "none"), default="emulator")
    parser.add_argument("--threshold", type=float, default=RoutingSettings().routing_threshold)
    parser.add_argument("--data", type=Path, default=None, help="labelled JSONL (default: the shipped set)")
    parser.add_argument("--model", type=Path, default=None, help="stage-1 model JSON (default: shipped)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every misrouted utterance")
    parser.add_argument(
        "--fresh", action="store_true", help="also report on the fresh second held-out set (report only)"
    )
    parser.add_argument("--fresh-data", type=Path, default=None, help="fresh set JSONL (default: shipped)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.threshold <= 1.0:
        parser.error(f"--threshold must be within [0, 1], got {args.threshold}")
    sys.stdout.write(asyncio.run(run(args)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
