"""Accessibility audits with axe-core (npm, `npm ci`): the serious and critical violations of a page.

Shared by tests/viz (each view on a plain page) and tests/site (landing page, Your work panel).
"""

from __future__ import annotations

from pathlib import Path

import pytest

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA, plus axe's best practices (e.g. every region labelled).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page, include: list[str] | None = None) -> list[dict]:
    """[{id, impact, help, targets}] of serious/critical violations on `page` (within `include` selectors)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` in the repository (the audits need axe-core).")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async ([include, tags]) => {
            const context = include ? { include: include.map((s) => [s]) } : document;
            const options = { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] };
            const result = await axe.run(context, options);
            const where = (n) => n.target.join(' ') + ' :: ' + n.failureSummary.split('\\n').slice(0, 2).join(' ');
            return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(where) }));
        }""",
        [include, TAGS],
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["targets"]) for v in violations)
