"""score_page, find_hallucinations and REWARD_FUNCS: behaviour and numbers on small hand-made pages."""
from __future__ import annotations

import pytest

from rewards import REWARD_FUNCS, Finding, find_hallucinations, score_page, score_pages
from rewards.scoring import COMPONENTS, DEFAULT_WEIGHTS, GT_COMPONENTS, VALIDITY_COMPONENTS
from rewards.tables.structure import cell_alignment
from rewards.tables.teds import teds, teds_tables

TABLE = "<table><tr><td>a</td><td>b</td></tr><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>"
GT = f"# Report\n\nThe value $x^2$ grows.\n\n{TABLE}\n\n$$\n\\frac{{a}}{{b}}\n$$\n"


def cats(findings: list[Finding]) -> list[str]:
    return [f.category for f in findings]


def test_identical_pages_score_one_everywhere() -> None:
    s = score_page(GT, GT)
    assert s.findings == []
    assert s.total == 1.0
    assert all(v == 1.0 for v in s.components.values())
    assert set(s.components) == set(COMPONENTS) == set(DEFAULT_WEIGHTS)


def test_without_ground_truth_only_validity_components_judge() -> None:
    s = score_page(GT)
    assert all(s.components[c] is None for c in GT_COMPONENTS)
    assert all(s.components[c] == 1.0 for c in VALIDITY_COMPONENTS)
    assert s.total == 1.0 and s.teds is None and s.no_truncation == 1.0


def test_invented_row_is_found_where_it_is() -> None:
    pred = GT.replace("</table>", "<tr><td>5</td><td>6</td></tr></table>")
    s = score_page(pred, GT)
    assert cats(s.findings) == ["invented_rows"]
    f = s.findings[0]
    assert pred[f.start : f.end] == "<tr><td>5</td><td>6</td></tr>"  # the invented row itself
    assert f.message == "table 1 has 4 rows, the ground truth 3 (1 invented): row 4 differs"
    pred_table = pred[pred.index("<table>") : pred.index("</table>") + 8]
    assert s.teds == pytest.approx(teds(pred_table, TABLE), abs=1e-12)
    assert s.teds_s == pytest.approx(teds(pred_table, TABLE, structure_only=True), abs=1e-12)
    assert s.cell_alignment == 1.0 == cell_alignment(pred_table, TABLE)  # every GT cell still in place
    assert s.table_count == 1.0 and s.text_accuracy == 1.0


def test_missing_row_and_cell_alignment() -> None:
    pred = GT.replace("<tr><td>1</td><td>2</td></tr>", "")
    s = score_page(pred, GT)
    assert cats(s.findings) == ["missing_rows"]
    (f,) = s.findings
    assert f.message.endswith("(1 missing), before row 2") and pred[f.start : f.end] == "<tr><td>3</td><td>4</td></tr>"
    # GT cells a, b stay in place; 3, 4 moved up a row; 1, 2 are gone: 2 of 6 aligned
    assert s.cell_alignment == pytest.approx(2 / 6)


def test_invalid_formula_carries_the_checkers_reason_and_span() -> None:
    pred = GT.replace("\\frac{a}{b}", "\\frac{a}{b")
    s = score_page(pred)
    (f,) = s.findings
    assert f.category == "invalid_formula" and "brace" in f.message
    assert pred[f.start : f.end] == "$$\n\\frac{a}{b\n$$"
    assert s.formula_validity == 0.5  # one of two formulas compiles


def test_truncated_table_at_the_end() -> None:
    pred = GT[: GT.index("<tr><td>3</td>")]
    s = score_page(pred, GT)
    found = cats(s.findings)
    assert "truncation" in found and "unclosed_table" in found and "missing_rows" in found
    assert s.no_truncation == 0.0
    assert s.formula_count == pytest.approx(0.5)  # 1 formula of the ground truth's 2 was written
    assert s.table_validity < 1.0


def test_ragged_and_unclosed_cells() -> None:
    pred = GT.replace("<td>1</td><td>2</td>", "<td>1</td><td>2</td><td>9</td>").replace("<td>3</td>", "<td>3")
    found = cats(find_hallucinations(pred))
    assert found.count("ragged_table") == 1 and found.count("unclosed_table") == 1


def test_pipe_table_is_scored_against_an_html_table() -> None:
    pred = GT.replace(TABLE, "| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |")
    s = score_page(pred, GT)
    assert s.teds == 1.0 and s.table_count == 1.0 and s.findings == []
    ragged = pred.replace("| 1 | 2 |", "| 1 | 2 | 7 |")
    (f,) = find_hallucinations(ragged)
    assert f.category == "ragged_table" and ragged[f.start : f.end].startswith("| a | b |")


def test_invented_and_missing_tables() -> None:
    other = "<table><tr><td>zz</td></tr></table>"
    s = score_page(GT.replace("# Report", f"# Report\n\n{other}"), GT)
    assert cats(s.findings) == ["invented_table"]
    assert s.table_count == 0.5 and s.teds == pytest.approx(0.5)  # paired table 1.0, extra 0, over 2
    s = score_page(GT.replace(TABLE, ""), GT)
    assert cats(s.findings) == ["missing_table"] and s.teds == 0.0 and s.cell_alignment == 0.0
    assert s.findings[0].start == len(GT.replace(TABLE, ""))


def test_page_teds_equals_teds_tables_with_several_tables() -> None:
    t2 = "<table><tr><td>x</td><td colspan=\"2\">y</td></tr></table>"
    gt = f"{TABLE}\n\ntext\n\n{t2}"
    pred = f"{t2.replace('y', 'why')}\n\ntext\n\n{TABLE.replace('<td>4</td>', '<td>44</td>')}"
    s = score_page(pred, gt)
    pred_tables = [pred[: pred.index("\n")], pred[pred.rindex("\n") + 1 :]]
    assert s.teds == pytest.approx(teds_tables(pred_tables, [TABLE, t2]), abs=1e-12)
    assert s.teds_s == pytest.approx(teds_tables(pred_tables, [TABLE, t2], structure_only=True), abs=1e-12)


def test_unclosed_tags_and_delimiters() -> None:
    pred = "Some <b>bold text and \\(x + 1 here.\n\nA </i> stray and a \\).\n\n```\ncode"
    found = [(f.category, f.message) for f in find_hallucinations(pred)]
    assert ("unclosed_tag", "<b> is never closed") in found
    assert ("unclosed_tag", "inline math \\( has no closing \\)") in found
    assert ("unclosed_tag", "closing </i> with no opening <i>") in found
    assert ("unclosed_tag", "code fence ``` is never closed") in found
    assert ("truncation", f"output ends inside an unclosed code fence opened at {pred.index('```')}") in found
    s = score_page(pred)
    # constructs: <b>, \(, </i>, the stray \), the fence -> all five are issues
    assert s.tag_closure == 0.0


def test_repetition_loop_and_its_score() -> None:
    loop = "the same words again " * 30
    pred = "Intro paragraph.\n\n" + loop + "\n\nEnd."
    s = score_page(pred)
    (f,) = [f for f in s.findings if f.category == "repetition_loop"]
    assert "repeated 30 times" in f.message
    assert pred[f.start : f.end] == loop.strip()
    redundant = len(loop.strip()) - len("the same words again ")
    assert s.no_repetition == pytest.approx(1 - redundant / len(pred))
    # the same repeated text in the ground truth is not a hallucination
    assert not [f for f in score_page(pred, pred).findings if f.category == "repetition_loop"]


def test_loop_thresholds() -> None:
    """A unit repeated back to back is a loop once its copies after the first hold 48 tokens (and there
    are at least 5 copies): a word 49 times, a 3-token cell 17 times, a 12-token row 5 times."""
    from rewards.page.repetition import find_loops

    assert [len(find_loops("x " * n)) for n in (48, 49)] == [0, 1]
    assert [len(find_loops("<td>0</td>" * n)) for n in (16, 17)] == [0, 1]
    row = "<tr><td>a</td><td>b</td><td>c</td><td>d</td><td>e</td></tr>"  # 12 tokens
    assert [len(find_loops(row * n)) for n in (4, 5)] == [0, 1]
    assert find_loops("Contents " + "." * 300 + " 5") == []  # dot leaders are not a loop
    line = "A line of text that comes back."
    assert [len(find_loops("\n".join([line] * n))) for n in (2, 3)] == [0, 1]


def test_loop_to_the_end_means_truncation() -> None:
    pred = "Start.\n\n" + "<tr><td>0</td><td>0</td></tr>" * 20
    found = cats(find_hallucinations(pred))
    assert "repetition_loop" in found and "truncation" in found


def test_text_accuracy_number() -> None:
    gt = "Hello world."
    s = score_page("Hello word.", gt)
    assert s.text_accuracy == pytest.approx(1 - 1 / 12)
    assert score_page("# Hello world.", gt).text_accuracy == 1.0  # heading marks are normalised away


def test_total_is_the_weighted_mean_of_what_judges() -> None:
    pred = GT.replace("\\frac{a}{b}", "\\frac{a}{b")
    s = score_page(pred, GT)
    judged = {k: v for k, v in s.components.items() if v is not None}
    expected = sum(DEFAULT_WEIGHTS[k] * v for k, v in judged.items()) / sum(DEFAULT_WEIGHTS[k] for k in judged)
    assert s.total == pytest.approx(expected)
    only = score_page(pred, GT, weights={k: 0.0 for k in COMPONENTS if k != "formula_validity"})
    assert only.total == 0.5
    with pytest.raises(ValueError, match="unknown reward component"):
        score_page(pred, GT, weights={"tedz": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        score_page(pred, GT, weights={"teds": -1.0})


def test_score_pages_batch() -> None:
    out = score_pages([GT, "x"], [GT, None])
    assert [o.total for o in out][0] == 1.0 and out[1].teds is None
    with pytest.raises(ValueError, match="2 predictions but 1"):
        score_pages([GT, GT], [GT])


def test_reward_funcs_share_one_signature() -> None:
    assert set(REWARD_FUNCS) == {*COMPONENTS, "total"}
    preds = [GT, GT.replace("</table>", "<tr><td>5</td><td>6</td></tr></table>"), "no table here"]
    gts = [GT, GT, None]
    teds_values = REWARD_FUNCS["teds"](preds, gts)
    assert teds_values[0] == 1.0 and 0 < teds_values[1] < 1 and teds_values[2] is None
    assert REWARD_FUNCS["table_validity"](preds, gts) == [1.0, 1.0, 1.0]
    totals = REWARD_FUNCS["total"](preds, gts)
    assert totals == [score_page(p, g).total for p, g in zip(preds, gts)]
    chat = [[{"role": "assistant", "content": GT}]]
    assert REWARD_FUNCS["teds"](chat, [GT]) == [1.0]
    assert REWARD_FUNCS["no_truncation"](["x"], None) == [1.0]
    with pytest.raises(ValueError, match="2 completions but 1"):
        REWARD_FUNCS["teds"]([GT, GT], [GT])
