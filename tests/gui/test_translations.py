"""Every user-visible string goes through tr(): a static check of kievideo/ui and app.py, the
Chinese catalogue on the real window, and the .ts/.qm files being current."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from gui_fakes import FakeService
from PySide6.QtCore import QCoreApplication, QLocale, QTranslator
from PySide6.QtWidgets import QMenu

from kievideo.ui import i18n
from kievideo.ui.appsettings import AppSettings, open_settings
from kievideo.ui.mainwindow import AppContext, MainWindow

ROOT = Path(__file__).resolve().parents[2]
UI_FILES = [*sorted((ROOT / "kievideo" / "ui").glob("*.py")), ROOT / "kievideo" / "app.py"]
TS = ROOT / "resources" / "translations" / "kievideo_zh_CN.ts"
QM = TS.with_suffix(".qm")

#: methods whose (text) arguments a person reads
SETTERS = {
    "setText",
    "setWindowTitle",
    "setToolTip",
    "setStatusTip",
    "setWhatsThis",
    "setPlaceholderText",
    "setInformativeText",
    "setDetailedText",
    "setLabelText",
    "setAccessibleName",
    "showMessage",
    "addMenu",
    "addTab",
    "addRow",
    "addItem",
    "addAction",
    "addButton",
    "setTitle",
}
#: widget/action constructors whose string arguments are shown
CONSTRUCTORS = {
    "QAction",
    "QLabel",
    "QPushButton",
    "QCheckBox",
    "QRadioButton",
    "QGroupBox",
    "QToolBar",
    "QMenu",
    "QListWidgetItem",
    "QFileDialog",
}
#: where the text is, for methods whose other arguments are data (addItem(text, userData))
TEXT_ARGS = {"addItem": (0,), "addTab": (1,), "addRow": (0,), "addButton": (0,), "addMenu": (0, 1)}
#: calls that translate their argument
TRANSLATORS = {"tr", "translate", "tr_rules", "_t", "dialogs_tr_rules"}


def _visible_words(text: str) -> bool:
    """True when a literal holds words a person reads (not markup, numbers, URLs, punctuation)."""
    text = re.sub(r"<[^>]*>", " ", text)  # markup
    text = re.sub(r"%\d|%n", " ", text)  # placeholders
    text = re.sub(r"https?://\S+", " ", text)  # example links are not language
    return re.search(r"[A-Za-z]{2,}", text) is not None


def _call_name(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Attribute):
        return f.attr
    if isinstance(f, ast.Name):
        return f.id
    return ""


def _untranslated_literals(node: ast.AST) -> Iterator[ast.AST]:
    """String literals with words in ``node`` that are not inside a translating call."""
    if isinstance(node, ast.Call) and _call_name(node) in TRANSLATORS:
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if _visible_words(node.value):
            yield node
        return
    if isinstance(node, ast.Call):
        # tr(...).replace("%1", value): the receiver is what is shown, the arguments are not text
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("replace", "format", "join"):
            yield from _untranslated_literals(node.func.value)
            return
        return  # some other computed value (a variable's method, a helper): not a literal
    if isinstance(node, ast.IfExp):  # the condition is not shown, the branches are
        yield from _untranslated_literals(node.body)
        yield from _untranslated_literals(node.orelse)
        return
    for child in ast.iter_child_nodes(node):
        yield from _untranslated_literals(child)


def find_untranslated(source: str, label: str) -> list[str]:
    """``label:line: call(literal)`` for every visible literal not wrapped in a translating call."""
    tree = ast.parse(source, filename=label)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _call_name(node)
        if name in SETTERS or (name in CONSTRUCTORS and isinstance(node.func, ast.Name)):
            positions = TEXT_ARGS.get(name)
            args = [a for i, a in enumerate(node.args) if positions is None or i in positions]
            args += [k.value for k in node.keywords if k.arg in ("text", "title", "label")]
            for arg in args:
                for lit in _untranslated_literals(arg):
                    out.append(f"{label}:{lit.lineno}: {name}({ast.unparse(lit)})")
    return out


def test_scanner_catches_what_it_should():
    src = (
        "def f(self, w):\n"
        "    w.setText('Hello there')\n"  # caught
        "    w.setToolTip(self.tr('fine'))\n"
        "    w.showMessage('Saved ' + name)\n"  # caught
        "    QLabel(f'{x} items', self)\n"  # caught
        "    QPushButton(icon, 'Go on', self)\n"  # caught
        "    w.setText(self.tr('%1 of %2').replace('%1', a))\n"
        "    w.setText('00:00 / 00:00')\n"
        "    w.setPlaceholderText('https://api.example.com')\n"
        '    QLabel(f\'<p align="center">{self.tr("Starting")}</p>\', self)\n'
    )
    found = find_untranslated(src, "probe.py")
    assert [f.split(":")[1] for f in found] == ["2", "4", "5", "6"], found


def test_every_visible_literal_goes_through_tr():
    problems = [
        p
        for f in UI_FILES
        for p in find_untranslated(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))
    ]
    assert problems == [], "wrap these in tr():\n" + "\n".join(problems)


def test_no_tr_call_hides_inside_an_f_string():
    """lupdate cannot see ``f"{tr('Task')}: ..."``: such a string would never be translated."""
    hidden = []
    for f in UI_FILES:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and _call_name(inner) in ("tr", "translate"):
                        hidden.append(f"{f.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == []


def _messages(ts: Path) -> dict[tuple[str, str], tuple[str, bool]]:
    """(context, source) -> (translation, finished) of the live messages of a .ts file."""
    out = {}
    for ctx in ET.parse(ts).getroot():
        for m in ctx.findall("message"):
            t = m.find("translation")
            kind = t.get("type") if t is not None else None
            if kind in ("obsolete", "vanished"):
                continue
            out[(ctx.findtext("name") or "", m.findtext("source") or "")] = (
                (t.text or "") if t is not None else "",
                kind is None,
            )
    return out


def test_catalogue_is_current(tmp_path):
    """The committed .ts holds exactly what lupdate extracts today (update it as
    resources/translations/README.md says when this fails)."""
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    if not lupdate.exists():
        pytest.skip("pyside6-lupdate is not installed next to this Python")
    fresh = tmp_path / "fresh.ts"
    subprocess.run(
        [str(lupdate), *map(str, UI_FILES), "-ts", str(fresh)],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    committed = _messages(TS)
    assert set(_messages(fresh)) == set(committed)
    assert len(committed) > 200
    assert ("MainWindow", "&File") in committed and ("PromptPanel", "Generate") in committed


def test_compiled_catalogue_matches_the_ts(qapp):
    """Every finished translation of the .ts is what the shipped .qm answers."""
    translator = QTranslator()
    assert translator.load(str(QM))
    finished = {k: v for k, (v, done) in _messages(TS).items() if done}
    assert len(finished) >= 12
    wrong = {k: v for k, v in finished.items() if translator.translate(k[0], k[1]) != v}
    assert wrong == {}


@pytest.fixture
def chinese(qapp):
    default = QLocale()
    translators = i18n.install(qapp, "zh_CN")
    yield translators
    i18n.uninstall(qapp, translators)
    QLocale.setDefault(default)


def test_main_window_in_chinese(qtbot, qloop, tmp_path, chinese):
    assert any(t.language() == "zh_CN" for t in chinese)
    ctx = AppContext(
        service=FakeService(),
        settings=AppSettings(open_settings(tmp_path / "config")),
        cache_dir=tmp_path / "cache",
        library_dir=tmp_path / "library",
        log_dir=tmp_path / "logs",
    )
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    menus = {m.objectName(): m.title() for m in w.menuBar().findChildren(QMenu) if m.objectName()}
    assert menus["menuFile"] == "文件(&F)" and menus["menuHelp"] == "帮助(&H)"
    assert w.act_generate.text() == "生成"
    assert w.prompt.generate_btn.text() == "生成 · 60 积分"
    assert w.tasks.state_combo.itemText(0) == "全部任务"
    assert QCoreApplication.translate("", "Done") == "已完成"
    with qtbot.waitSignal(w.shutdownFinished, timeout=5000):
        w.close()
