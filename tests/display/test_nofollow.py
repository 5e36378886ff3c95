"""Issue 20 item 2: the host never follows a link the sandbox planted in a working dir.

A tool runs `ln -s` after its file was recorded (or in place of a folder the host writes to); every
host-side read and write below must refuse it with a message naming the file, and nothing outside
the working dir is read or written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import conjure_nb as cj
from conjure_nb.display._beneath import LinkRefused, read_in, write_new
from conjure_nb.models._scripted import ScriptedModel as S
from conjure_nb.notebook.magics._inputs import prepare_inputs
from conjure_nb.notebook.render import to_html

SECRET = "ANTHROPIC_API_KEY=sk-ant-SECRET"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    out = tmp_path / "outside"
    out.mkdir()
    (out / "secret.txt").write_text(SECRET)
    (out / "env.txt").write_text(SECRET)
    return out


def test_created_file_swapped_for_a_link_is_never_read(tmp_path: Path, outside: Path) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    model = S([S.reply(S.tool_use("bash_tool", command="echo hi > env.txt; mkdir d; echo ok > d/env.txt",
                                  description="d")), S.reply("done")])  # fmt: skip
    with cj.Session.new_local(model=model, working_dir=wd) as s:
        response = s.chat("go")
        assert {f.filename for f in response.created_files} == {"env.txt", "d/env.txt"}
        # the tool swaps its file for a link to a secret, and its folder for a link to the outside
        s.run_tool("bash_tool", command=f"rm env.txt && ln -s {outside}/secret.txt env.txt", description="x")
        s.run_tool("bash_tool", command=f"rm -rf d && ln -s {outside} d", description="x")
        shown = [to_html(response), to_html(s)]
        panel = cj.FilesPanel(s)
        try:
            shown.append("".join(card.value for card in panel.gallery.children))
        finally:
            panel.close()
        for html in shown:
            assert "SECRET" not in html and "c2stYW50LVNFQ1JFVA" not in html  # nor in a data: link
            assert "env.txt is a symbolic link" in html and "d/env.txt is a symbolic link" in html
        with pytest.warns(UserWarning, match="env.txt"):
            written = s.download_files(tmp_path / "dl")
        assert all(SECRET not in p.read_text() for p in written)


def test_spilled_output_behind_a_planted_link_is_refused(tmp_path: Path, outside: Path) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    rows = json.dumps([{"host": f"web-{i}", "n": i} for i in range(5000)])
    with cj.Session.new_local(working_dir=wd) as s:
        (wd / "rows.json").write_text(rows)
        result = s.run_tool("bash_tool", command="cat rows.json", description="d")
        assert result.output_file is not None and result.dataframe is not None
        spilled = Path(result.output_file)
        (outside / spilled.name).write_text(json.dumps([{"secret": SECRET}]))
        s.run_tool(
            "bash_tool", command=f"rm -rf .conjure/output && ln -s {outside} .conjure/output", description="x"
        )
        assert result.dataframe is None
        assert "SECRET" not in to_html(result)
        with pytest.raises(LinkRefused, match=r"\.conjure/output/.* is a symbolic link"):
            read_in(wd, spilled)
        # and the next spill does not write through the planted link either
        again = s.run_tool("bash_tool", command="cat rows.json", description="d")
        assert again.output_file is None and "could not be saved" in again.content
        assert sorted(p.name for p in outside.iterdir()) == sorted(["secret.txt", "env.txt", spilled.name])


def test_inputs_replace_a_planted_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    wd = tmp_path / "wd"
    wd.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    for name in ("df.jsonl", "rec.jsonl", "text.txt", "doc.json"):
        (wd / name).symlink_to(victim)
    ns = {
        "df": pd.DataFrame({"a": [1, 2]}),
        "rec": [{"a": 1}],
        "text": "long\n" * 100,
        "doc": {"k": "v" * 300},
    }
    inputs = prepare_inputs(list(ns), ns, wd)
    assert victim.read_text() == "precious"
    assert [p.name for p in inputs.files] == ["df.jsonl", "rec.jsonl", "text.txt", "doc.json"]
    assert all(p.is_file() and not p.is_symlink() for p in inputs.files)
    assert (wd / "df.jsonl").read_text().splitlines() == ['{"a":1}', '{"a":2}']


def test_the_opener_names_the_file_and_never_leaves_the_dir(tmp_path: Path, outside: Path) -> None:
    wd = tmp_path / "wd"
    (wd / "sub").mkdir(parents=True)
    (wd / "sub" / "link").symlink_to(outside / "secret.txt")
    for bad, message in (("sub/link", "sub/link is a symbolic link"), ("../outside/secret.txt", "leaves"),
                         (str(outside / "secret.txt"), "outside the working dir")):  # fmt: skip
        with pytest.raises(LinkRefused, match=message):
            read_in(wd, bad)
    write_new(wd, "sub/link", b"new")
    assert (outside / "secret.txt").read_text() == SECRET and (wd / "sub" / "link").read_bytes() == b"new"


def test_monitoring_outputs_are_copied_without_following_links(tmp_path: Path, outside: Path) -> None:
    from conjure_nb.monitoring._agent import AgentError, copy_out

    wd, out = tmp_path / "wd", tmp_path / "out"
    (wd / "reports").mkdir(parents=True)
    out.mkdir()
    (wd / "analysis.json").write_text('{"ok": true}')
    (wd / "reports" / "incident.pdf").symlink_to(outside / "secret.txt")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (out / "analysis.json").symlink_to(victim)  # planted where the copy goes
    kept = copy_out(wd, [wd / "analysis.json"], out)
    assert victim.read_text() == "precious" and kept[0].read_text() == '{"ok": true}'
    with pytest.raises(
        AgentError, match=r"incident.pdf was not copied.*reports/incident.pdf is a symbolic link"
    ):
        copy_out(wd, [wd / "reports" / "incident.pdf"], out)
    assert not (out / "incident.pdf").exists()
